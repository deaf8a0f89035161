import{r as e,t}from"./chunk-SHT3W25Y-Dr_DnNqY.js";import"./chunk-POPQ4Y6H-I5xGcS5W.js";import"./mermaid.core-EqaFdZHZ.js";import"./chunk-F27PBJKO-DLOxaeA4.js";import"./chunk-L3NEJ4N5-Chdgssg2.js";import"./chunk-OSK3NFVY-DA3aaoN0.js";import"./chunk-GVQU2GXP-WmVNtU3u.js";import"./chunk-4HAMMTFA-CbdZojcn.js";import"./chunk-P2QGCYS3-BqQHMQZ4.js";import"./chunk-GMAD6QVW-B-UX9Ko5.js";import"./chunk-PWAF6VOD-Dk4qwC5G.js";import"./chunk-75Z2AOVW-BGDtdg1Z.js";import"./chunk-DU6HZSFF-DPXyW-B7.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};