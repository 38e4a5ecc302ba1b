// The rulebook as its own entry (assets/rules.js), loaded by main.ts with a plain import():
// a bundled dynamic import would pull Vite's preload helper (~0.7 KB gzipped, nothing to
// preload here) into the page's budget.
export * from "onboard-rules";
