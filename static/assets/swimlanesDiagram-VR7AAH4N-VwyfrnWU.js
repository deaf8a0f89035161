import{r as e,t}from"./chunk-SHT3W25Y-C5MISiuo.js";import"./chunk-POPQ4Y6H-2LKbsHRx.js";import"./mermaid.core-hKvJzKa-.js";import"./chunk-F27PBJKO-CMHbaBKJ.js";import"./chunk-L3NEJ4N5-C3XMa1VT.js";import"./chunk-OSK3NFVY-kMbJ2mLp.js";import"./chunk-GVQU2GXP-DC6bvk0I.js";import"./chunk-4HAMMTFA-01ZgKHKg.js";import"./chunk-P2QGCYS3-a4XhaIp_.js";import"./chunk-GMAD6QVW-Z9RotU3h.js";import"./chunk-PWAF6VOD-DW74Q1JL.js";import"./chunk-75Z2AOVW-CAirOzc0.js";import"./chunk-DU6HZSFF-DnMLrRIT.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};