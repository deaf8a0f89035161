import{r as e,t}from"./chunk-SHT3W25Y-8at6EmgS.js";import"./chunk-POPQ4Y6H-DYoLq24N.js";import"./mermaid.core-DbYV6eUs.js";import"./chunk-F27PBJKO-BI3ft1SS.js";import"./chunk-L3NEJ4N5-BqHFILnx.js";import"./chunk-OSK3NFVY-BslRCkKg.js";import"./chunk-GVQU2GXP-BuGZH_GF.js";import"./chunk-4HAMMTFA-BUIrJqBm.js";import"./chunk-P2QGCYS3-CGv2cWEz.js";import"./chunk-GMAD6QVW-jsFkl-51.js";import"./chunk-PWAF6VOD-CVNL2L20.js";import"./chunk-75Z2AOVW-CJfISolA.js";import"./chunk-DU6HZSFF-B6cnuD5Z.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};