import{r as e,t}from"./chunk-SHT3W25Y-Bl3iRLOs.js";import"./chunk-POPQ4Y6H-DYR6n5b0.js";import"./mermaid.core-BLvHvLRA.js";import"./chunk-F27PBJKO-C2x-yKYx.js";import"./chunk-L3NEJ4N5-C636om46.js";import"./chunk-OSK3NFVY-CSWJstZ6.js";import"./chunk-GVQU2GXP-Ch-D5AL3.js";import"./chunk-4HAMMTFA-CnV0LrGC.js";import"./chunk-P2QGCYS3-BXIbnHbV.js";import"./chunk-GMAD6QVW-DLSFnZyP.js";import"./chunk-PWAF6VOD-Cc25OzFy.js";import"./chunk-75Z2AOVW-DW5z3ug-.js";import"./chunk-DU6HZSFF-jBGeJti-.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};