import{r as e,t}from"./chunk-SHT3W25Y-DmZDugZ7.js";import"./chunk-POPQ4Y6H-BKf8-Ivy.js";import"./mermaid.core-CtC7IxfH.js";import"./chunk-F27PBJKO-B0PWQ-Oi.js";import"./chunk-L3NEJ4N5-DdGLQlb1.js";import"./chunk-OSK3NFVY-DuH1nV1H.js";import"./chunk-GVQU2GXP-CYbCZcXL.js";import"./chunk-4HAMMTFA-DfnRhNsp.js";import"./chunk-P2QGCYS3-CPPJClKo.js";import"./chunk-GMAD6QVW-DEust1wj.js";import"./chunk-PWAF6VOD-CWNWnzof.js";import"./chunk-75Z2AOVW-D-AAAiip.js";import"./chunk-DU6HZSFF-Clthns86.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};