import{r as e,t}from"./chunk-SHT3W25Y-BhBp_IsM.js";import"./chunk-POPQ4Y6H-D50dHb98.js";import"./mermaid.core-DN_D4LW1.js";import"./chunk-F27PBJKO-KXc2XMC0.js";import"./chunk-L3NEJ4N5-DCvupHhe.js";import"./chunk-OSK3NFVY-BGrLJvp7.js";import"./chunk-GVQU2GXP-C0sdLQps.js";import"./chunk-4HAMMTFA-D8-IFKJ8.js";import"./chunk-P2QGCYS3-CdOTYYfF.js";import"./chunk-GMAD6QVW-D30h_Kom.js";import"./chunk-PWAF6VOD-Cn88lYpp.js";import"./chunk-75Z2AOVW-hmPO0t55.js";import"./chunk-DU6HZSFF-97HLIA2h.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};