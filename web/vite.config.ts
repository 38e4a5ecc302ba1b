import { defineConfig } from "vite";

// The page talks to the server that serves it; in `npm run dev` that server is proxied.
const api = process.env.ONBOARD_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  // onboard-rules loads its .wasm with top-level await and `new URL(.., import.meta.url)`:
  // pre-bundling would move the glue away from the .wasm, so Vite serves it as is.
  optimizeDeps: { exclude: ["onboard-rules"] },
  build: {
    target: "es2022",
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: false,
    rolldownOptions: {
      // src/rules.ts is a second entry with a fixed name, so main.ts can import() it by URL.
      // (src/import.ts, the Import tab, is built on its own by vite.import.config.ts: as a third
      // entry here it would share a runtime chunk with rules.js and grow the first load.)
      input: { index: "index.html", rules: "src/rules.ts" },
      preserveEntrySignatures: "strict",
      output: {
        entryFileNames: (chunk) => (chunk.name === "rules" ? "assets/rules.js" : "assets/[name]-[hash].js"),
      },
    },
  },
  server: {
    fs: { allow: [".."] },
    proxy: { "/v1": api, "/readyz": api, "/healthz": api },
  },
});
