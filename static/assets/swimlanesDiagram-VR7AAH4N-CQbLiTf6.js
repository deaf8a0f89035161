import{r as e,t}from"./chunk-SHT3W25Y-D2xKTStS.js";import"./chunk-POPQ4Y6H-BOGu0pku.js";import"./mermaid.core-crvk7Zka.js";import"./chunk-F27PBJKO-BseO1kb7.js";import"./chunk-L3NEJ4N5-DtjLs1J6.js";import"./chunk-OSK3NFVY-C5mF1LtI.js";import"./chunk-GVQU2GXP-BHx6bQUh.js";import"./chunk-4HAMMTFA-W7isXmtN.js";import"./chunk-P2QGCYS3-CArKcebg.js";import"./chunk-GMAD6QVW-ZPXliMOu.js";import"./chunk-PWAF6VOD-BVn_qBJK.js";import"./chunk-75Z2AOVW-BT0ZHf9F.js";import"./chunk-DU6HZSFF-D99WAIpb.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};