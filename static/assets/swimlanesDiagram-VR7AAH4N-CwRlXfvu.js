import{r as e,t}from"./chunk-SHT3W25Y-CStU0-Va.js";import"./chunk-POPQ4Y6H-CQYITsmh.js";import"./mermaid.core-CuvdhN0D.js";import"./chunk-F27PBJKO-BjwdMTT1.js";import"./chunk-L3NEJ4N5-DjQ9ptHy.js";import"./chunk-OSK3NFVY-CnXrznF1.js";import"./chunk-GVQU2GXP-BdH8K8z6.js";import"./chunk-4HAMMTFA-CogKaU1O.js";import"./chunk-P2QGCYS3-Bn4kZTmU.js";import"./chunk-GMAD6QVW-8kmUnWtr.js";import"./chunk-PWAF6VOD-DI4R72ph.js";import"./chunk-75Z2AOVW-bCPU718Z.js";import"./chunk-DU6HZSFF-BdJda5go.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};