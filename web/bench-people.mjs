// Browser-side benchmark of the People view's search (issue 13: "find any user among 10,000
// by typing part of a name or e-mail and see them within a second"). Starts the real
// `onboard serve` (embedded database, fresh data dir), creates USERS people through
// POST /v1/users/bulk (1,000 per request; the server hashes a password per person, so this
// takes minutes), then in headless Debian Chromium types the start of a last name or an
// e-mail of a random person into the search box and measures, from the last keystroke, the
// time until that person's row is on screen (this includes the page's 250 ms pause before it
// searches). Prints every run and the median; asserts nothing.
//
//   npm run build && cargo build -p onboard && node bench-people.mjs [USERS] [RUNS]
//   (defaults: 10000 users, 15 runs; ONBOARD_BIN as for the tests)
import { API_KEY, launchBrowser, openPage, startServer } from "./tests/harness.mjs";

const USERS = Number(process.argv[2] ?? 10_000);
const RUNS = Number(process.argv[3] ?? 15);
const FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Katherine", "Margaret", "Niklaus", "Radia", "Tim", "Vint", "Whitfield"];
const LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Johnson", "Hamilton", "Wirth", "Perlman", "Berners", "Cerf", "Diffie"];
// Deterministic pseudo-random, so every run of the benchmark makes the same people.
let seed = 42;
const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
const people = Array.from({ length: USERS }, (_, i) => {
  const first = FIRST[rand(FIRST.length)];
  const last = `${LAST[rand(LAST.length)]}${String.fromCharCode(97 + rand(26))}${String.fromCharCode(97 + rand(26))}${i}`;
  return { email: `${first}.${last}@example.com`.toLowerCase(), type: i % 10 ? "Attendee" : "Speaker", firstName: first, lastName: last };
});

const server = await startServer();
const browser = await launchBrowser();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const t0 = Date.now();
  for (let i = 0; i < people.length; i += 1000) {
    const res = await fetch(`${server.url}/v1/users/bulk`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ users: people.slice(i, i + 1000) }),
    });
    const body = await res.json();
    if (res.status !== 200 || body.counts.created + body.counts.exists !== Math.min(1000, people.length - i))
      throw new Error(`bulk at ${i}: ${res.status} ${JSON.stringify(body.counts ?? body)}`);
    process.stderr.write(`\rcreated ${Math.min(i + 1000, people.length)} of ${people.length} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  process.stderr.write("\n");

  const page = await openPage(browser, server.url);
  await page.evaluate(() => (location.hash = "#/people"));
  await page.locator("#pp-status", { hasText: /shown/ }).waitFor();
  const times = [];
  const lines = [];
  for (let run = 0; run < RUNS; run++) {
    const p = people[rand(people.length)];
    // Alternately the start of the last name (with its unique tail) and of the e-mail.
    const text = run % 2 ? p.lastName.slice(0, p.lastName.length) : p.email.slice(0, p.email.indexOf("@"));
    await page.fill("#pp-q", "");
    await page.locator("#pp-status", { hasText: /shown/ }).waitFor();
    await page.locator("#pp-q").pressSequentially(text.slice(0, -1), { delay: 20 });
    const t = await page.evaluate(
      ([last, email]) =>
        new Promise((done) => {
          const input = document.querySelector("#pp-q");
          const start = performance.now();
          const seen = () => [...document.querySelectorAll("#pp-table tbody td:nth-child(2)")].some((td) => td.textContent === email);
          const obs = new MutationObserver(() => seen() && (obs.disconnect(), done(performance.now() - start)));
          obs.observe(document.querySelector("#pp-table tbody"), { childList: true, subtree: true });
          input.value += last;
          input.dispatchEvent(new Event("input", { bubbles: true }));
        }),
      [text.slice(-1), p.email],
    );
    times.push(t);
    lines.push(`  "${text}" → ${p.email}: ${t.toFixed(0)} ms`);
  }
  console.log(`People search, ${USERS.toLocaleString("en")} users, headless Chromium ${browser.version()}, ${RUNS} runs (from the last keystroke to the row on screen, 250 ms pause included)`);
  console.log(lines.join("\n"));
  console.log(`median ${median(times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`);
} finally {
  await browser.close();
  await server.stop();
}
