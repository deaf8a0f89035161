// Vite build config: writes the production UI to ../static, which the Rust binary embeds and serves same-origin.
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

/**
 * KaTeX's stylesheet lists each font as woff2, woff and ttf. Every browser the UI supports reads woff2, so the
 * other two are dropped before Vite copies the fonts: about 0.9 MB less in static/ and in the binary.
 */
function katexWoff2Only(): Plugin {
  return {
    name: "augchatd-katex-woff2-only",
    enforce: "pre",
    transform(code, id) {
      if (!/\/katex\/dist\/katex(\.min)?\.css$/.test(id.split("?")[0])) return null;
      return code
        .replace(/,\s*url\([^)]*\.woff\)\s*format\(["']woff["']\)/g, "")
        .replace(/,\s*url\([^)]*\.ttf\)\s*format\(["']truetype["']\)/g, "");
    },
  };
}

export default defineConfig({
  plugins: [react(), tailwindcss(), katexWoff2Only()],
  base: "/",
  build: {
    outDir: "../static",
    emptyOutDir: true,
    // Nothing is inlined as data: URLs: the CSP (src/http/static_ui.rs) allows fonts from 'self' only.
    assetsInlineLimit: 0,
    // The entry chunk stays one piece (~0.95 MB); mermaid's and KaTeX's chunks load on first use.
    chunkSizeWarningLimit: 1200,
  },
});
