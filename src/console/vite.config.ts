import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const require = createRequire(import.meta.url);

/**
 * The API reference at /docs is Swagger UI, served from our own assets (no CDN is reachable from
 * every deployment, and none is needed): its bundle and stylesheet are copied from swagger-ui-dist.
 */
function swaggerUiAssets(): Plugin {
  const dist = dirname(require.resolve("swagger-ui-dist/package.json"));
  return {
    name: "meridian-swagger-ui-assets",
    async generateBundle() {
      for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
        this.emitFile({ type: "asset", fileName: `docs/${file}`, source: await readFile(join(dist, file)) });
      }
    },
  };
}

// The console: a single-page app served by the Worker as static assets (wrangler.toml [assets]).
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react(), swaggerUiAssets()],
  build: {
    outDir: join(import.meta.dirname, "../../dist/console"),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: { proxy: { "/v1": "http://localhost:8787" } },
});
