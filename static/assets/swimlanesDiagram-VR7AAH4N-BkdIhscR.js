import{r as e,t}from"./chunk-SHT3W25Y-BQ8S69ka.js";import"./chunk-POPQ4Y6H-B6g29dcf.js";import"./mermaid.core-7vDQD40R.js";import"./chunk-F27PBJKO-Gm0A47eL.js";import"./chunk-L3NEJ4N5-DB-04ITi.js";import"./chunk-OSK3NFVY-CH8ApkGb.js";import"./chunk-GVQU2GXP-BMRaMXDV.js";import"./chunk-4HAMMTFA-CtCXxxQY.js";import"./chunk-P2QGCYS3-DDseZx3_.js";import"./chunk-GMAD6QVW-DbWcsxIc.js";import"./chunk-PWAF6VOD-CdAaq4IB.js";import"./chunk-75Z2AOVW-g4Rot-c0.js";import"./chunk-DU6HZSFF-BmnuBi8G.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};