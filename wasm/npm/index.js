// Browser and bundler entry (Vite, plain <script type="module">, workers): loads the
// WebAssembly module once, with top-level await, so every export is ready on import.
// Node resolves package.json's "node" condition to ./node/index.cjs instead, which
// reads the .wasm from disk synchronously.
import init from "./web/onboard_wasm.js";

await init({ module_or_path: new URL("./web/onboard_wasm_bg.wasm", import.meta.url) });

export * from "./web/onboard_wasm.js";
