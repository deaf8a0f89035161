import{r as e,t}from"./chunk-SHT3W25Y-CHj_RalN.js";import"./chunk-POPQ4Y6H-SlwILI-U.js";import"./mermaid.core-DXmbw7Lv.js";import"./chunk-F27PBJKO-CRfrXPwh.js";import"./chunk-L3NEJ4N5-weTaY8Ro.js";import"./chunk-OSK3NFVY-DWpV7S77.js";import"./chunk-GVQU2GXP-CShJHXRO.js";import"./chunk-4HAMMTFA-CtVHCVKJ.js";import"./chunk-P2QGCYS3-Bgkhvq38.js";import"./chunk-GMAD6QVW-D77p1WdB.js";import"./chunk-PWAF6VOD-DQXKnA9V.js";import"./chunk-75Z2AOVW-CGYyGHdI.js";import"./chunk-DU6HZSFF-knHJE94W.js";import"./d3-selection-Bk1QqVx6.js";import{n}from"./chunk-Y2CYZVJY-DsF7k-Jl.js";var r=t({defaultLayout:`swimlane`,styles:n(t=>`${e(t)}
  .swimlane.cluster rect {
    stroke: ${t.clusterBorder} !important;
  }
  [data-look="neo"].cluster rect {
    filter: none;
  }
`,`getStyles`)});export{r as diagram};