import{r as e,t}from"./chunk-SHT3W25Y-DLLKqedL.js";import"./chunk-POPQ4Y6H-B59knkwj.js";import"./mermaid.core-BM821-V9.js";import"./chunk-F27PBJKO-BGGOOqBb.js";import"./chunk-L3NEJ4N5-BXShlZrV.js";import"./chunk-OSK3NFVY-BXBF8Do-.js";import"./chunk-GVQU2GXP-BslhzAdy.js";import"./chunk-4HAMMTFA-Be2gObjn.js";import"./chunk-P2QGCYS3-Degmzw8c.js";import"./chunk-GMAD6QVW-CiLY5Poh.js";import"./chunk-PWAF6VOD-DwRTbhQ0.js";import"./chunk-75Z2AOVW-BQ8TV1_5.js";import"./chunk-DU6HZSFF-CHuiq52E.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};