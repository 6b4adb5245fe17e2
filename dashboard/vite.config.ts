import { svelte } from "@sveltejs/vite-plugin-svelte"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vite"

/** The dashboard, built into `dashboard/dist` and served by the platform at `/dashboard/` (src/runtime/DashboardRoute.ts). */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/dashboard/",
  plugins: [svelte()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Every asset a file of its own under assets/ (hashed, cached immutably): never inlined as a
    // data: URL or a <style>, which the Content-Security-Policy would refuse.
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    // The editor chunk (CodeMirror with its JavaScript parser) is ~500 kB, ~170 kB gzipped, loaded lazily.
    chunkSizeWarningLimit: 700
  }
})
