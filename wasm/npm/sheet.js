// Browser and bundler entry of `onboard-rules/sheet`: the spreadsheet functions (mapHeaders,
// rowsToUsers, suggestUrl, fieldCatalogue) in their own WebAssembly module, so only what
// reads spreadsheets (the page's Import tab) downloads them; the main entry keeps validation.
// Loaded once, with top-level await. Node resolves the "node" condition to ./node/sheet.cjs.
import init from "./web/onboard_sheet.js";

await init({ module_or_path: new URL("./web/onboard_sheet_bg.wasm", import.meta.url) });

export * from "./web/onboard_sheet.js";
