// Browser and bundler entry of `onboard-rules/sheet`: the spreadsheet functions (mapHeaders,
// rowsToUsers, suggestUrl, updateMayFix, fieldCatalogue) in their own WebAssembly module, so only what
// reads spreadsheets (the page's Import tab) downloads them; the main entry keeps validation.
// Loaded once, with top-level await. Node resolves the "node" condition to ./node/sheet.cjs.
import init from "./web/onboard_sheet.js";

const wasm = new URL("./web/onboard_sheet_bg.wasm", import.meta.url);
// A bundler's library build inlines the .wasm as a data: URL; a page whose CSP has
// `connect-src 'self'` cannot fetch that, so its bytes are decoded here instead.
const bytes = (url) => Uint8Array.from(atob(url.href.slice(url.href.indexOf(",") + 1)), (c) => c.charCodeAt(0));
await init({ module_or_path: wasm.protocol === "data:" ? bytes(wasm) : wasm });

export * from "./web/onboard_sheet.js";
