import{r as e,t}from"./chunk-SHT3W25Y-CR20d0Cx.js";import"./chunk-POPQ4Y6H-BqD4lg8z.js";import"./mermaid.core-CuIQDbuJ.js";import"./chunk-F27PBJKO-DkK5urdT.js";import"./chunk-L3NEJ4N5-BqrLGUqI.js";import"./chunk-OSK3NFVY-Cry28_WL.js";import"./chunk-GVQU2GXP-Maiq-Kyk.js";import"./chunk-4HAMMTFA-TEveUnRo.js";import"./chunk-P2QGCYS3-ByO_k7IM.js";import"./chunk-GMAD6QVW-CwnbHij-.js";import"./chunk-PWAF6VOD-DSuuHXYI.js";import"./chunk-75Z2AOVW-B3qOHb5l.js";import"./chunk-DU6HZSFF-C5biz_fD.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};