import { defineConfig } from "vite";

// The page talks to the server that serves it; in `npm run dev` that server is proxied.
const api = process.env.ONBOARD_URL ?? "http://127.0.0.1:8080";

/** Entries that main.ts import()s by a URL it knows. */
const FIXED = new Set(["rules", "people", "sponsors"]);

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
      // src/rules.ts is a second entry with a fixed name, so main.ts can import() it by URL;
      // so are the People and Sponsors views (src/people.ts, src/sponsors.ts), fetched when
      // their tab first opens. What they share with the page (api, fields) is one chunk that
      // the page loads anyway, so the key, banners and rulebook are one instance everywhere.
      // (src/import.ts, the Import tab, is built on its own by vite.import.config.ts: as a third
      // entry here it would share a runtime chunk with rules.js and grow the first load.)
      input: { index: "index.html", rules: "src/rules.ts", people: "src/people.ts", sponsors: "src/sponsors.ts" },
      preserveEntrySignatures: "strict",
      output: {
        entryFileNames: (chunk) => (FIXED.has(chunk.name) ? `assets/${chunk.name}.js` : "assets/[name]-[hash].js"),
      },
    },
  },
  server: {
    fs: { allow: [".."] },
    proxy: { "/v1": api, "/readyz": api, "/healthz": api },
  },
});
