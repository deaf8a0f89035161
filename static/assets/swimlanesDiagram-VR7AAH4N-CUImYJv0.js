import{r as e,t}from"./chunk-SHT3W25Y-CCj1i3xR.js";import"./chunk-POPQ4Y6H-CdJQT8iX.js";import"./mermaid.core-COM2uxyK.js";import"./chunk-F27PBJKO-Bf7PJy2Q.js";import"./chunk-L3NEJ4N5-dS8okqh7.js";import"./chunk-OSK3NFVY-Cur8hGiD.js";import"./chunk-GVQU2GXP-CdGvmbw8.js";import"./chunk-4HAMMTFA-B8I0U9bb.js";import"./chunk-P2QGCYS3-Be-sM7tp.js";import"./chunk-GMAD6QVW-DMrnpwhL.js";import"./chunk-PWAF6VOD-dV3joGoB.js";import"./chunk-75Z2AOVW-DJF8_Jl0.js";import"./chunk-DU6HZSFF-D55iZDMd.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};