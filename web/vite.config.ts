import { defineConfig } from "vite";

// The page talks to the server that serves it; in `npm run dev` that server is proxied.
const api = process.env.ONBOARD_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  // onboard-rules loads its .wasm with top-level await and `new URL(.., import.meta.url)`:
  // pre-bundling would move the glue away from the .wasm, so Vite serves it as is.
  optimizeDeps: { exclude: ["onboard-rules"] },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, assetsInlineLimit: 0, modulePreload: false },
  server: {
    fs: { allow: [".."] },
    proxy: { "/v1": api, "/readyz": api, "/healthz": api },
  },
});
