// Shared by the browser tests: the real `onboard serve` (embedded database, temp data dir,
// known API key) and Debian's Chromium driven by playwright-core. Nothing is mocked.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const WEB = resolve(fileURLToPath(new URL("..", import.meta.url)));
export const REPO = resolve(WEB, "..");
export const RESULTS = join(WEB, "test-results");
export const API_KEY = "web-test-key-0123456789abcdef0123456789";

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Starts `onboard serve` on a free port with a fresh data dir (`env` adds or overrides
 * variables); resolves once /readyz answers 200.
 */
export async function startServer(env = {}) {
  const bin = resolve(REPO, process.env.ONBOARD_BIN ?? "target/debug/onboard");
  if (!existsSync(bin)) throw new Error(`${bin} not found: run \`cargo build -p onboard\` or set ONBOARD_BIN`);
  const dist = join(WEB, "dist");
  if (!existsSync(join(dist, "index.html"))) throw new Error("web/dist is missing: run `npm run build` first");
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "onboard-web-"));
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ["serve"], {
    cwd: REPO,
    env: {
      ...process.env,
      ONBOARD_BIND: `127.0.0.1:${port}`,
      ONBOARD_DATA_DIR: dataDir,
      ONBOARD_API_KEY: API_KEY,
      ONBOARD_WEB_DIR: dist,
      ONBOARD_RATE_LIMIT: "0",
      RUST_LOG: process.env.RUST_LOG ?? "warn",
      ...env,
    },
    stdio: ["ignore", "inherit", "pipe"],
  });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  let exited = null;
  child.on("exit", (code, signal) => (exited = code ?? signal));
  // Never leave a server behind, even when the test process dies on an error.
  const reap = () => exited === null && child.kill("SIGKILL");
  process.on("exit", reap);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== null) throw new Error(`onboard serve exited (${exited}):\n${log}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {}
    if (Date.now() > deadline) {
      reap();
      throw new Error(`onboard serve not ready after 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    log: () => log,
    async stop() {
      if (exited === null) {
        const gone = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await gone;
        clearTimeout(timer);
      }
      process.off("exit", reap);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Debian's Chromium, headless, kept off the network. Playwright's `launch` gives it a fresh
 * temporary --user-data-dir of its own each time (and refuses one passed in `args`).
 */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}

export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/**
 * Every Content-Security-Policy violation any page of this test file reported. The server
 * serves the page under a strict policy (no inline script or style, no eval); the page must
 * live within it, so a file whose pages saw a violation fails even if its assertions passed.
 */
export const cspViolations = [];
process.on("exit", () => {
  if (cspViolations.length) {
    console.error(`Content-Security-Policy violations:\n  ${cspViolations.join("\n  ")}`);
    process.exitCode = 1;
  }
});

/** Records the CSP violations of `context`'s pages in `cspViolations` (and `page.cspViolations`). */
export async function watchCsp(context) {
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      console.error(`csp-violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`),
    );
  });
  context.on("console", (m) => {
    const text = m.text();
    if (text.startsWith("csp-violation:") || text.includes("Content Security Policy")) {
      cspViolations.push(text);
      m.page()?.cspViolations?.push(text);
    }
  });
}

/**
 * A new page at `url` with its API requests recorded in `page.apiRequests` (method + path),
 * the rules loaded (unless `waitRules` is false) and the API key typed in (unless `key` is null).
 */
export async function openPage(browser, url, { viewport = DESKTOP, key = API_KEY, waitRules = true, setup } = {}) {
  const context = await browser.newContext({ viewport, permissions: ["clipboard-read", "clipboard-write"] });
  await watchCsp(context);
  const page = await context.newPage();
  page.cspViolations = [];
  page.apiRequests = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    // The page's check of a newly entered key (GET /v1/keys) belongs to the key field, not
    // to any form or view: it is left out so tests count what their actions send.
    if (u.pathname === "/v1/keys" && r.method() === "GET") return;
    if (u.pathname.startsWith("/v1/")) page.apiRequests.push(`${r.method()} ${u.pathname}${u.search}`);
  });
  page.pageErrors = [];
  page.on("pageerror", (e) => page.pageErrors.push(String(e)));
  if (setup) await setup(page);
  await page.goto(url);
  if (waitRules) await page.locator("#rules-status", { hasText: "checked as you type" }).waitFor();
  if (key !== null) {
    await page.fill("#api-key", key);
    await keySettled(page);
  }
  return page;
}

/** Waits until the page has checked the key in its field (its status line says what it may do). */
export async function keySettled(page) {
  await page.waitForFunction(() => {
    const s = document.querySelector("#api-key-status")?.dataset.state;
    return s !== undefined && s !== "checking";
  });
}

export async function screenshot(page, name, { fullPage = true } = {}) {
  mkdirSync(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, `${name}.png`), fullPage });
}
