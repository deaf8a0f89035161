import{r as e,t}from"./chunk-SHT3W25Y-BxtW7mBq.js";import"./chunk-POPQ4Y6H-CAxvJ3g4.js";import"./mermaid.core-Cdpcsxmm.js";import"./chunk-F27PBJKO-DkRZA71s.js";import"./chunk-L3NEJ4N5-C8MKj71l.js";import"./chunk-OSK3NFVY-atbmeWO5.js";import"./chunk-GVQU2GXP-BWQTjc4l.js";import"./chunk-4HAMMTFA-BlDARL8H.js";import"./chunk-P2QGCYS3-CsylJYqT.js";import"./chunk-GMAD6QVW-DSYj-Jsn.js";import"./chunk-PWAF6VOD-B0k2YhP_.js";import"./chunk-75Z2AOVW-nxK2rwNs.js";import"./chunk-DU6HZSFF-Cas74anb.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};