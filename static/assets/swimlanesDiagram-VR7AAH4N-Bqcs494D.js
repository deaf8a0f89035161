import{r as e,t}from"./chunk-SHT3W25Y-BgzE9yWb.js";import"./chunk-POPQ4Y6H-CFDCRy-I.js";import"./mermaid.core-BTdB-K-2.js";import"./chunk-F27PBJKO-D_l6xFoD.js";import"./chunk-L3NEJ4N5-DDZvUy3a.js";import"./chunk-OSK3NFVY-D_PMcWKv.js";import"./chunk-GVQU2GXP-DQmwENIT.js";import"./chunk-4HAMMTFA-BEK_BG5W.js";import"./chunk-P2QGCYS3-BBaKfZog.js";import"./chunk-GMAD6QVW-GuaZeAdq.js";import"./chunk-PWAF6VOD-CuRi6FC6.js";import"./chunk-75Z2AOVW-DIWCunIa.js";import"./chunk-DU6HZSFF-DWtvYBII.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};