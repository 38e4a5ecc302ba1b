import { defineConfig } from "vite";

// The Import tab (src/import.ts with papaparse and its CSS inlined) as one self-contained file,
// dist/assets/import.js, that main.ts import()s by URL the first time the tab opens. Built after
// vite.config.ts (into the same dist/, without emptying it) so that nothing of it, not even
// the bundler's small CommonJS runtime that papaparse needs, is shared with the first load.
export default defineConfig({
  build: {
    target: "es2022",
    outDir: "dist/assets",
    emptyOutDir: false,
    copyPublicDir: false,
    minify: true,
    assetsInlineLimit: 0,
    lib: { entry: "src/import.ts", formats: ["es"], fileName: () => "import.js" },
    // Library mode keeps whitespace in ES output by default; this file is only ever loaded.
    rolldownOptions: { output: { minify: true } },
  },
});
