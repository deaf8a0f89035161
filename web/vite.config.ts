// Vite build config: writes the production UI to ../static, which the Rust binary embeds and serves same-origin.
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  base: "/",
  // One chunk on purpose: the binary embeds it and serves it same-origin; ~0.93 MB is expected (UI-TOOLCHAIN §2).
  build: { outDir: "../static", emptyOutDir: true, chunkSizeWarningLimit: 1200 },
});
