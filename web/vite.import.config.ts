import { defineConfig } from "vite";

// The Import tab (src/import.ts with papaparse and its CSS inlined) as one file,
// dist/assets/import.js, that main.ts import()s by URL the first time the tab opens, and the
// spreadsheet rulebook's .wasm (onboard-rules/sheet) beside it as its own file, fetched (and
// compiled while it streams) by import.js; not inlined as base64, which library mode would do
// and which cost the tab a third more bytes and a decode. Built after vite.config.ts (into the
// same dist/, without emptying it) so that nothing of it, not even the bundler's small
// CommonJS runtime that papaparse needs, is shared with the first load.
export default defineConfig({
  base: "/assets/",
  build: {
    target: "es2022",
    outDir: "dist/assets",
    assetsDir: "",
    emptyOutDir: false,
    copyPublicDir: false,
    minify: true,
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    rolldownOptions: {
      input: { import: "src/import.ts" },
      preserveEntrySignatures: "strict",
      output: { entryFileNames: "import.js", assetFileNames: "[name]-[hash][extname]" },
    },
  },
});
