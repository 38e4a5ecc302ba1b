// The Import tab: a CSV file (or pasted rows) checked row by row by the onboard-rules rulebook
// before anything is sent, then imported in chunks through POST /v1/users/bulk. Its own entry
// (assets/import.js, with papaparse and its CSS inlined), fetched by main.ts only when the tab
// first opens, so the page's first load does not grow. As in main.ts, no rule is written here:
// the rulebook's field catalogue maps the columns and turns rows into the API's JSON
// (mapHeaders, rowsToUsers: the functions `onboard import` runs natively), and this file puts
// each FieldError on the cell its path names.
import Papa from "papaparse";
import type { FieldError } from "onboard-rules";
// The spreadsheet functions are the package's second module (its own .wasm), bundled into
// this lazily loaded entry only, so the page's first load does not carry them.
import * as sheet from "onboard-rules/sheet";
import type { CatalogueField, ImportField, SheetUser } from "onboard-rules/sheet";

type Rules = typeof import("onboard-rules") & typeof sheet;
type Json = Record<string, any>;

/** Rows per request (the server takes up to 1,000) and requests in flight at once: 100 x 2
 * keeps at most 200 passwords waiting for the server's hashing pool (its queue holds 256). */
const CHUNK = 100;
const PARALLEL = 2;
/** 429 and 503 are retried after Retry-After (capped at MAX_WAIT s), this many times per chunk. */
const RETRIES = 5;
const MAX_WAIT = 60;
const PAGE = 50;

// ---- Small DOM helpers (as in main.ts). ----
function h(tag: string, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const k in attrs) el.setAttribute(k, attrs[k]);
  el.append(...kids);
  return el;
}
const fmt = (n: number) => n.toLocaleString("en");
const plural = (n: number, one: string, many = one + "s") => `${fmt(n)} ${n === 1 ? one : many}`;

/** A CSV download. Every cell goes through the rulebook's csvSafe (`safe`): a cell a
 * spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a ' in front. */
function downloadCsv(name: string, rows: unknown[][], safe: (cell: string) => string) {
  const cells = rows.map((r) => r.map((c) => safe(String(c ?? ""))));
  // A BOM, so spreadsheets open the UTF-8 (accents in names) correctly.
  const url = URL.createObjectURL(new Blob(["\ufeff" + Papa.unparse(cells)], { type: "text/csv;charset=utf-8" }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** `Retry-After` in seconds (a number or an HTTP date), at least 1 and at most MAX_WAIT. */
function retrySeconds(res: Response): number {
  const v = res.headers.get("retry-after") ?? "";
  const s = /^\d+$/.test(v) ? Number(v) : Math.ceil((Date.parse(v) - Date.now()) / 1000);
  return Math.min(Math.max(Number.isFinite(s) ? s : 5, 1), MAX_WAIT);
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((ok) => {
    const t = setTimeout(ok, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), ok()), { once: true });
  });

/** A "Previous / Rows a–b of n / Next" bar over a list of row numbers. */
class Pager {
  page = 0;
  total = 0;
  readonly nav: HTMLElement;
  private readonly info = h("span", { "aria-live": "polite" });
  private readonly prev = h("button", { type: "button" }, "Previous") as HTMLButtonElement;
  private readonly next = h("button", { type: "button" }, "Next") as HTMLButtonElement;
  constructor(label: string, private readonly draw: () => void) {
    this.nav = h("nav", { class: "pager", "aria-label": label }, this.prev, this.info, this.next);
    this.prev.onclick = () => this.go(this.page - 1);
    this.next.onclick = () => this.go(this.page + 1);
  }
  go(p: number) {
    this.page = Math.max(0, Math.min(p, Math.ceil(this.total / PAGE) - 1));
    this.draw();
  }
  slice<T>(all: T[]): T[] {
    this.total = all.length;
    if (this.page * PAGE >= all.length) this.page = Math.max(0, Math.ceil(all.length / PAGE) - 1);
    const from = this.page * PAGE;
    this.info.textContent = all.length ? `Rows ${fmt(from + 1)}–${fmt(Math.min(from + PAGE, all.length))} of ${fmt(all.length)}` : "No rows";
    this.prev.disabled = this.page === 0;
    this.next.disabled = from + PAGE >= all.length;
    return all.slice(from, from + PAGE);
  }
}

const TEMPLATE = `
<div class="banner" role="alert"></div>
<form class="imp-source" novalidate>
  <div class="grid">
    <div class="field">
      <label for="imp-file">CSV file</label>
      <input id="imp-file" type="file" accept=".csv,.tsv,.txt,text/csv,text/plain" aria-describedby="imp-file-hint">
      <p class="hint" id="imp-file-hint">First line: the column names. Comma, semicolon or tab separated.</p>
    </div>
    <div class="field">
      <label for="imp-type">Type for rows without one</label>
      <select id="imp-type"><option>Attendee</option><option>Speaker</option></select>
    </div>
    <div class="field">
      <label for="imp-existing">Emails that already have an account</label>
      <select id="imp-existing" aria-describedby="imp-existing-hint">
        <option value="skip">Skip: leave those people as they are</option>
        <option value="update">Update them with the row's filled cells</option>
        <option value="fail">Refuse those rows (email taken)</option>
      </select>
      <p class="hint" id="imp-existing-hint">Update: each filled cell replaces that person's value; empty cells and the type for rows without one change nothing.</p>
    </div>
    <div class="field wide">
      <label for="imp-paste">Or paste rows</label>
      <textarea id="imp-paste" rows="4" spellcheck="false" placeholder="email;first name;last name&#10;jane@domain.com;Jane;Doe"></textarea>
      <button type="button" id="imp-read" class="secondary">Check pasted rows</button>
    </div>
  </div>
</form>
<section id="imp-check" aria-labelledby="imp-check-h" hidden>
  <h2 id="imp-check-h">Check</h2>
  <fieldset id="imp-map">
    <legend>Columns</legend>
    <p class="hint">Each column of the file fills the field chosen here; change one and every row is checked again.</p>
    <div class="grid"></div>
  </fieldset>
  <fieldset id="imp-types" hidden>
    <legend>Types</legend>
    <p class="hint">The column read as Type holds other words than Attendee and Speaker: say what each one means.</p>
    <div class="grid"></div>
  </fieldset>
  <p id="imp-summary" role="status"></p>
  <p id="imp-parse" class="hint"></p>
  <div class="row">
    <div class="check"><input id="imp-only" type="checkbox"><label for="imp-only">Only rows with problems</label></div>
    <button type="button" id="imp-problems" class="secondary">Download the problems (CSV)</button>
  </div>
  <div class="table-wrap" tabindex="0" role="region" aria-labelledby="imp-check-h"><table id="imp-table"><thead></thead><tbody></tbody></table></div>
  <div class="actions"><button type="button" id="imp-start" class="primary">Import</button></div>
</section>
<section id="imp-run" aria-labelledby="imp-run-h" hidden>
  <h2 id="imp-run-h">Import</h2>
  <label for="imp-progress">Rows sent</label>
  <progress id="imp-progress" value="0" max="1"></progress>
  <p id="imp-progress-text" role="status"></p>
  <button type="button" id="imp-cancel" class="secondary">Cancel</button>
</section>
<section id="imp-results" aria-labelledby="imp-results-h" hidden>
  <h2 id="imp-results-h" tabindex="-1">Results</h2>
  <p id="imp-results-summary"></p>
  <p class="warn" id="imp-warn" hidden><strong>Passwords are shown only now. </strong>Download the results and send each new user their password: the server keeps only a hash and cannot show them again (a lost one can be replaced with <code>POST /v1/users/{id}/password</code>).</p>
  <button type="button" id="imp-results-csv" class="secondary">Download the results (CSV)</button>
  <div class="table-wrap" tabindex="0" role="region" aria-labelledby="imp-results-h"><table id="imp-results-table"><thead><tr>
    <th scope="col">Row</th><th scope="col">Email</th><th scope="col">Status</th><th scope="col">Id</th><th scope="col">Password</th><th scope="col">Details</th>
  </tr></thead><tbody></tbody></table></div>
</section>`;

interface Outcome {
  status: "created" | "exists" | "updated" | "unchanged" | "invalid" | "failed" | "not imported";
  id?: string;
  email?: string;
  password?: string;
  message?: string;
}

export function mount(panel: HTMLElement, loading: Promise<typeof import("onboard-rules")>, keyInput: HTMLInputElement) {
  panel.innerHTML = TEMPLATE;
  const $ = <T extends HTMLElement = HTMLElement>(sel: string) => panel.querySelector<T>(sel)!;
  const source = $<HTMLFormElement>(".imp-source");
  const fileInput = $<HTMLInputElement>("#imp-file");
  const typeSel = $<HTMLSelectElement>("#imp-type");
  // The request's onExisting: what a row whose email already has an account does.
  const existingSel = $<HTMLSelectElement>("#imp-existing");
  const updating = () => existingSel.value === "update";
  const check = $("#imp-check");
  const mapBox = $("#imp-map .grid");
  const summary = $("#imp-summary");
  const only = $<HTMLInputElement>("#imp-only");
  const table = $<HTMLTableElement>("#imp-table");
  const start = $<HTMLButtonElement>("#imp-start");
  const run = $("#imp-run");
  const progress = $<HTMLProgressElement>("#imp-progress");
  const progressText = $("#imp-progress-text");
  const cancel = $<HTMLButtonElement>("#imp-cancel");
  const results = $("#imp-results");
  const banner = (...content: (Node | string)[]) =>
    $(".banner").replaceChildren(...(content.length ? [h("p", {}, ...content)] : []));

  let rules: Rules | undefined;
  // The rulebook's field catalogue: labels for the column pickers and the table, and kinds.
  let catalogue: CatalogueField[] = [];
  const label = (path: string) => catalogue.find((f) => f.path === path)?.label;
  const isUrl = (path: string) => catalogue.some((f) => f.path === path && f.kind === "url");
  // The file as read: column names, data rows (cells as text) and each row's spreadsheet number.
  let name = "pasted";
  let headers: string[] = [];
  let rows: string[][] = [];
  let nums: number[] = [];
  // The field of each column ("" = ignored): mapHeaders' answer until a person changes it.
  let map: string[] = [];
  let mapped = false;
  // Values of the type column and the type each means ("" = as written).
  const typeValues = new Map<string, string>();
  // The last check: each row's payload, its errors and the URL corrections offered (index = data row).
  let payloads: SheetUser[] = [];
  let errors: FieldError[][] = [];
  let problems: number[] = [];
  let fixes = new Map<number, Map<number, string>>();
  let running = false;

  const checkPager = new Pager("Pages of checked rows", () => drawTable());
  table.parentElement!.after(checkPager.nav);
  const resultPager = new Pager("Pages of results", () => drawResults());
  $("#imp-results-table").parentElement!.after(resultPager.nav);

  loading.then(
    (r) => {
      rules = { ...r, ...sheet };
      catalogue = sheet.fieldCatalogue();
      if (rows.length) recheck();
    },
    () => banner(h("strong", {}, "The rules could not be loaded. "), "Rows are checked in the browser before an import: reload the page to try again."),
  );

  // ---- Reading: papaparse guesses the separator; a UTF-8 BOM is dropped. ----
  function read(text: string, from: string, note = "") {
    const parsed = Papa.parse<string[]>(text, { skipEmptyLines: false });
    const records = parsed.data;
    const blank = (r: string[]) => r.every((c) => !c.trim());
    const first = records.findIndex((r) => !blank(r));
    banner();
    if (first < 0) {
      check.hidden = true;
      return banner(h("strong", {}, "Nothing to import. "), `${from} has no rows.`);
    }
    name = from;
    headers = records[first].map((c) => c.trim());
    rows = [];
    nums = [];
    for (let i = first + 1; i < records.length; i++) {
      if (blank(records[i])) continue;
      rows.push(records[i]);
      nums.push(i + 1); // the header is row first+1 in the spreadsheet
    }
    mapped = false;
    typeValues.clear();
    const errs = parsed.errors.filter((e) => e.code !== "UndetectableDelimiter");
    $("#imp-parse").textContent =
      note +
      `Separator: ${JSON.stringify(parsed.meta.delimiter)}.` +
      (errs.length ? ` The CSV parser noted: ${errs.slice(0, 3).map((e) => `${e.message}${e.row != null ? ` (record ${e.row + 1})` : ""}`).join("; ")}.` : "");
    checkPager.page = 0;
    results.hidden = true;
    run.hidden = true;
    check.hidden = false;
    recheck();
  }

  function drawMapping() {
    const options = () => [new Option("Ignore this column", ""), ...catalogue.map((f) => new Option(`${f.label} (${f.path})`, f.path))];
    mapBox.replaceChildren(
      ...headers.map((hd, col) => {
        const sel = h("select", { id: `imp-col-${col}`, "data-col": String(col) }) as HTMLSelectElement;
        sel.append(...options());
        sel.value = map[col];
        sel.onchange = () => {
          // One column per field: a field chosen here is taken from any other column.
          map = map.map((p, c) => (c === col ? sel.value : p === sel.value ? "" : p));
          map.forEach((p, c) => ((mapBox.querySelector<HTMLSelectElement>(`#imp-col-${c}`)!).value = p));
          recheck();
        };
        return h("div", { class: "field" }, h("label", { for: sel.id }, `Column “${hd || `#${col + 1}`}”`), sel);
      }),
    );
  }

  /** The value table of the column mapped to `type`: shown when its cells are not all types already. */
  function drawTypeValues() {
    const box = $("#imp-types");
    const col = map.indexOf("type");
    const values = col < 0 ? [] : [...new Set(rows.map((r) => (r[col] ?? "").trim()).filter(Boolean))];
    const shown = values.some((v) => v !== "Attendee" && v !== "Speaker") ? values.slice(0, 30) : [];
    box.hidden = !shown.length;
    box.querySelector(".grid")!.replaceChildren(
      ...shown.map((v, k) => {
        const sel = h("select", { id: `imp-tv-${k}`, "data-value": v }) as HTMLSelectElement;
        sel.append(new Option("As written", ""), new Option("Attendee"), new Option("Speaker"));
        sel.value = typeValues.get(v) ?? "";
        sel.onchange = () => {
          typeValues.set(v, sel.value);
          recheck();
        };
        return h("div", { class: "field" }, h("label", { for: sel.id }, `“${v}” means`), sel);
      }),
    );
  }

  /** How rowsToUsers reads the columns: the chosen mapping and type values. */
  function rowOptions() {
    const chosen: Record<string, string> = {};
    for (const [v, t] of typeValues) if (t) chosen[v] = t;
    return { columns: map.map((p) => (p || null) as ImportField | null), typeValues: chosen };
  }

  // ---- Checking: every row through validateUsers at once (duplicates in the file included). ----
  function recheck() {
    if (!rules) {
      summary.textContent = `${plural(rows.length, "row")} read; waiting for the rules to check them…`;
      start.disabled = true;
      return;
    }
    if (!mapped) {
      map = rules.mapHeaders(headers).map((p) => p ?? "");
      mapped = true;
      drawMapping();
    }
    drawTypeValues();
    const t0 = performance.now();
    payloads = rules.rowsToUsers(headers, rows, { type: typeSel.value }, rowOptions());
    errors = rules.validateUsers(payloads);
    const ms = performance.now() - t0;
    problems = [];
    fixes = new Map();
    let dupes = 0;
    let offered = 0;
    errors.forEach((e, i) => {
      if (!e.length) return;
      problems.push(i);
      if (e.some((x) => x.code === "duplicate_in_batch")) dupes++;
      // A refused URL whose intent is plain gets a correction to accept, never applied unasked.
      for (const x of e) {
        const c = map.indexOf(x.field);
        if (c < 0 || !isUrl(x.field)) continue;
        const fix = rules!.suggestUrl(x.field as ImportField, rows[i][c] ?? "");
        if (fix === undefined) continue;
        if (!fixes.has(i)) fixes.set(i, new Map());
        fixes.get(i)!.set(c, fix);
        offered++;
      }
    });
    const valid = rows.length - problems.length;
    // With "update", a row that lacks only what an existing person has (names, type) may be
    // an update: it is sent too, and the server, which knows who exists, decides.
    const maybe = updating() ? problems.filter((i) => rules!.updateMayFix(errors[i])).length : 0;
    const full = map.indexOf("fullName");
    const splits = full < 0 ? 0 : rows.filter((r) => (r[full] ?? "").trim()).length;
    const fixAll = h("button", { type: "button", id: "imp-fix-all", class: "secondary" }, `Apply the ${plural(offered, "suggested URL correction")}`);
    fixAll.onclick = () => {
      for (const [i, byCol] of fixes) for (const [c, fix] of byCol) rows[i][c] = fix;
      recheck();
    };
    summary.replaceChildren(
      h("strong", { "data-count": "rows" }, fmt(rows.length)), ` row${rows.length === 1 ? "" : "s"}: `,
      h("span", { "data-count": "valid" }, fmt(valid)), " valid, ",
      h("span", { "data-count": "invalid" }, fmt(problems.length)), " with problems, of which ",
      h("span", { "data-count": "duplicates" }, fmt(dupes)), ` repeat${dupes === 1 ? "s" : ""} an email of an earlier row. `,
      ...(splits ? [h("span", { "data-count": "split" }, fmt(splits)), ` full name${splits === 1 ? "" : "s"} split into first and last name (shown under each name). `] : []),
      ...(maybe ? [h("span", { "data-count": "maybe-updates" }, fmt(maybe)), ` of the rows with problems only lack what an existing account has: they are sent as updates, and the server says which emails it knows. `] : []),
      h("span", { class: "timing", "data-ms": ms.toFixed(1) }, `${plural(rows.length, "row")} checked in ${fmt(Math.round(ms))} ms.`),
      ...(offered ? [" ", fixAll] : []),
    );
    start.textContent = maybe ? `Import ${plural(valid + maybe, "row")}` : `Import ${plural(valid, "valid row")}`;
    start.disabled = running || valid + maybe === 0;
    $<HTMLButtonElement>("#imp-problems").disabled = problems.length === 0;
    drawTable();
  }

  /** The column an error lands on: the mapped field that is the longest prefix of its path
   * (a first or last name split from a full name: that column). */
  function columnOf(field: string): number {
    for (let p = field; p; p = p.replace(/\.?[^.[\]]+$|\[\d+\]$/, "")) {
      const c = map.indexOf(p);
      if (c >= 0) return c;
    }
    return field === "firstName" || field === "lastName" ? map.indexOf("fullName") : -1;
  }

  function drawTable() {
    const cols = map.flatMap((p, c) => (p ? [c] : []));
    const shown = only.checked ? problems : rows.map((_, i) => i);
    const page = checkPager.slice(shown);
    // "Elsewhere": errors with no column, such as a required field no column fills.
    const elsewhere = problems.some((i) => errors[i].some((e) => columnOf(e.field) < 0));
    table.tHead!.replaceChildren(
      h("tr", {},
        h("th", { scope: "col" }, "Row"),
        ...cols.map((c) => h("th", { scope: "col" }, headers[c] || `#${c + 1}`, h("span", { class: "field-name" }, label(map[c]) ?? map[c]))),
        ...(elsewhere ? [h("th", { scope: "col" }, "Other problems")] : []),
      ),
    );
    table.tBodies[0].replaceChildren(
      ...page.map((i) => {
        const at = new Map<number, string[]>();
        for (const e of errors[i]) {
          const c = columnOf(e.field);
          const text = c < 0 ? `${label(e.field) ?? (e.field || "Row")}: ${e.message}` : e.field === map[c] ? e.message : `${label(e.field) ?? e.field}: ${e.message}`;
          if (!at.has(c)) at.set(c, []);
          at.get(c)!.push(text);
        }
        const cell = (c: number, value: string) => {
          const msgs = at.get(c);
          const td = h("td", c < 0 ? {} : { "data-field": map[c] }, value);
          // The split of a full name, for a person to see before importing.
          if (c >= 0 && map[c] === "fullName" && value.trim()) {
            const p = payloads[i];
            td.append(h("span", { class: "split" }, `First name: ${p.firstName ?? "—"} · Last name: ${p.lastName ?? "—"}`));
          }
          if (msgs) {
            td.className = "bad";
            td.append(h("span", { class: "cell-err" }, msgs.join(" ")));
          }
          const fix = c >= 0 ? fixes.get(i)?.get(c) : undefined;
          if (fix !== undefined) {
            const use = h("button", { type: "button", class: "fix" }, `Use ${fix}`);
            use.onclick = () => {
              rows[i][c] = fix;
              recheck();
            };
            td.append(use);
          }
          return td;
        };
        const tr = h("tr", { "data-row": String(nums[i]) },
          h("th", { scope: "row" }, String(nums[i])),
          ...cols.map((c) => cell(c, rows[i][c] ?? "")),
          ...(elsewhere ? [cell(-1, "")] : []),
        );
        if (errors[i].length) tr.className = "bad-row";
        return tr;
      }),
    );
  }

  const base = () => name.replace(/\.(csv|tsv|txt)$/i, "");

  // ---- Importing: chunks of valid rows, PARALLEL requests at a time, cancellable. ----
  let outcome: (Outcome | undefined)[] = [];

  async function importRows() {
    const policy = existingSel.value;
    const update = policy === "update";
    const todo = rows.map((_, i) => i).filter((i) => !errors[i].length || (update && rules!.updateMayFix(errors[i])));
    if (running || !todo.length) return;
    // With "update", a row without a type of its own goes without the default type, so an
    // existing person keeps theirs; the rows the server then finds new (type required) go
    // again with it.
    const own = update ? rules!.rowsToUsers(headers, rows, null, rowOptions()) : payloads;
    const defaulted = (i: number) => payloads[i].type !== undefined && own[i].type === undefined;
    let pick = (i: number) => (update && defaulted(i) ? own[i] : payloads[i]);
    const retype: number[] = [];
    let total = todo.length;
    running = true;
    banner();
    source.inert = check.inert = true;
    start.disabled = true;
    const chunksOf = (idx: number[]) => {
      const out: number[][] = [];
      for (let i = 0; i < idx.length; i += CHUNK) out.push(idx.slice(i, i + CHUNK));
      return out;
    };
    let chunks = chunksOf(todo);
    const ctl = new AbortController();
    const counts = { created: 0, exists: 0, updated: 0, unchanged: 0, invalid: 0, failed: 0 };
    let done = 0;
    let waiting = "";
    const t0 = performance.now();
    outcome = new Array(rows.length);
    progress.max = todo.length;
    progress.value = 0;
    results.hidden = true;
    run.hidden = false;
    cancel.hidden = false;
    cancel.disabled = false;
    cancel.textContent = "Cancel";
    run.scrollIntoView({ block: "nearest" });

    const show = () => {
      progress.value = done;
      progress.max = total;
      const left = done ? ((performance.now() - t0) / done) * (total - done) / 1000 : NaN;
      const eta = done < total ? (Number.isFinite(left) ? ` · about ${left < 90 ? `${Math.ceil(left)} s` : `${Math.ceil(left / 60)} min`} left` : " · estimating the time left") : "";
      progressText.textContent =
        `${fmt(done)} of ${plural(total, "row")} done (${Math.floor((done / total) * 100)}%): ` +
        `${fmt(counts.created)} created, ` +
        (update ? `${fmt(counts.updated)} updated, ${fmt(counts.unchanged)} unchanged, ` : "") +
        `${fmt(counts.exists)} already there, ${fmt(counts.invalid)} refused, ${fmt(counts.failed)} failed` +
        eta + (waiting ? `. ${waiting}` : "");
    };
    const settle = (idx: number[], o: Outcome) => {
      for (const i of idx) outcome[i] = { ...o };
      if (o.status !== "not imported") counts[o.status] += idx.length;
      done += idx.length;
    };
    const stop = (res: Response, data: Json) => {
      if (ctl.signal.aborted) return;
      ctl.abort();
      const advice: Record<number, string> = {
        401: " Enter a valid API key at the top of the page.",
        403: " This key may only read; use a key with the standard privilege.",
        413: ` Rows are sent ${CHUNK} at a time; the server refused even that.`,
        429: ` Still limited after ${RETRIES} tries: wait a minute and import again (existing emails come back as "exists").`,
        503: ` Still busy after ${RETRIES} tries: wait a minute and import again (existing emails come back as "exists").`,
      };
      const id = res.headers.get("x-request-id");
      banner(h("strong", {}, `Import stopped (${res.status}). `), String(data.message ?? res.statusText), advice[res.status] ?? (id ? ` Request id: ${id}.` : ""));
    };

    async function send(idx: number[]) {
      for (let attempt = 0; ; attempt++) {
        const key = keyInput.value.trim();
        let res: Response;
        let data: Json;
        try {
          // Not tied to the AbortController: a request already sent is answered, so the
          // passwords of the rows it creates are not lost.
          res = await fetch("/v1/users/bulk", {
            method: "POST",
            headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
            body: JSON.stringify({ users: idx.map(pick), ...(policy === "skip" ? {} : { onExisting: policy }) }),
          });
          data = await res.json().catch(() => ({}));
        } catch {
          return settle(idx, { status: "failed", message: "No answer from the server: these rows may have been created; import the file again to find out (existing emails come back as exists)." });
        }
        if (res.ok && Array.isArray(data.results)) {
          for (const r of data.results as Json[]) {
            const i = idx[r.index];
            if (i === undefined) continue;
            if (pick(i) !== payloads[i] && r.status === "invalid" && (r.errors as FieldError[] | undefined)?.some((e) => e.field === "type" && e.code === "required")) {
              retype.push(i);
              continue;
            }
            const message = r.errors ? (r.errors as FieldError[]).map((e) => `${e.field}: ${e.message}`).join(" ") : r.error;
            outcome[i] = { status: r.status, id: r.id, email: r.email, password: r.password, message };
            if (r.status in counts) counts[r.status as keyof typeof counts]++;
          }
          done += idx.length;
          return;
        }
        if ((res.status === 429 || res.status === 503) && attempt < RETRIES && !ctl.signal.aborted) {
          const s = retrySeconds(res);
          waiting = `The server answered ${res.status}: trying again in ${plural(s, "second")}.`;
          show();
          await sleep(s * 1000, ctl.signal);
          waiting = "";
          if (ctl.signal.aborted) return;
          continue;
        }
        if ([401, 403, 413, 429, 503].includes(res.status)) return stop(res, data);
        return settle(idx, { status: "failed", message: `${res.status}: ${data.message ?? res.statusText}` });
      }
    }

    let next = 0;
    const worker = async () => {
      while (!ctl.signal.aborted && next < chunks.length) {
        await send(chunks[next++]);
        show();
      }
    };
    cancel.onclick = () => {
      ctl.abort();
      cancel.disabled = true;
      cancel.textContent = "Cancelling…";
      waiting = "Cancelled: waiting for the answers to the requests already sent.";
      show();
    };
    show();
    await Promise.all(Array.from({ length: Math.min(PARALLEL, chunks.length) }, worker));
    if (retype.length && !ctl.signal.aborted) {
      pick = (i) => payloads[i];
      total += retype.length;
      chunks = chunksOf(retype.sort((a, b) => a - b));
      next = 0;
      show();
      await Promise.all(Array.from({ length: Math.min(PARALLEL, chunks.length) }, worker));
    }

    const cancelled = ctl.signal.aborted;
    for (const i of todo) outcome[i] ??= { status: "not imported", message: cancelled ? "Not sent: the import was stopped." : "Not sent." };
    // A row not sent for its problems carries them, so the results (and their CSV) stand alone.
    for (let i = 0; i < rows.length; i++) outcome[i] ??= { status: "not imported", message: `Not sent: ${describe(errors[i])}` };
    waiting = "";
    show();
    progressText.textContent = `${cancelled ? "Import stopped" : "Import finished"}: ${progressText.textContent}`;
    cancel.hidden = true;
    running = false;
    source.inert = check.inert = false;
    start.disabled = false;
    drawResults();
    results.hidden = false;
    $("#imp-results-h").focus();
  }

  const describe = (errs: FieldError[]) => errs.map((e) => `${label(e.field) ?? (e.field || "Row")}: ${e.message} (${e.code})`).join(" ");

  function drawResults() {
    const o = outcome as Outcome[];
    const tally: Record<string, number> = {};
    for (const x of o) tally[x.status] = (tally[x.status] ?? 0) + 1;
    $("#imp-results-summary").replaceChildren(
      ...(["created", "updated", "unchanged", "exists", "invalid", "failed", "not imported"] as const).flatMap((s, k) => [
        k ? ", " : "",
        h("span", { "data-status": s }, fmt(tally[s] ?? 0)),
        ` ${s === "exists" ? "already there" : s === "invalid" ? "refused by the server" : s}`,
      ]),
      ".",
    );
    $("#imp-warn").hidden = !tally.created;
    const page = resultPager.slice(o.map((_, i) => i));
    $<HTMLTableElement>("#imp-results-table").tBodies[0].replaceChildren(
      ...page.map((i) => {
        const x = o[i];
        return h("tr", { "data-row": String(nums[i]), "data-status": x.status },
          h("th", { scope: "row" }, String(nums[i])),
          h("td", {}, x.email ?? String(payloads[i]?.email ?? "")),
          h("td", {}, x.status),
          h("td", {}, x.id ? h("code", {}, x.id) : ""),
          h("td", { class: "secret" }, x.password ? h("code", {}, x.password) : ""),
          h("td", {}, x.message ?? ""),
        );
      }),
    );
  }

  // ---- Events. ----
  fileInput.onchange = async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    const buf = await file.arrayBuffer();
    // Not UTF-8 (a spreadsheet's plain "CSV" is Windows-1252): read it as that instead, as
    // `onboard import` does, and say so.
    let text: string;
    let note = "";
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(buf);
    } catch {
      text = new TextDecoder("windows-1252").decode(buf);
      note = "Not UTF-8: read as Windows-1252 (check the accents). ";
    }
    read(text, file.name, note);
  };
  $("#imp-read").onclick = () => read($<HTMLTextAreaElement>("#imp-paste").value, "pasted");
  typeSel.onchange = () => rows.length && recheck();
  existingSel.onchange = () => rows.length && recheck();
  only.onchange = () => {
    checkPager.page = 0;
    drawTable();
  };
  start.onclick = () => void importRows();
  $("#imp-problems").onclick = () =>
    downloadCsv(`${base()}.problems.csv`, [
      ["row", "field", "message", "code", "column", "value"],
      ...problems.flatMap((i) =>
        errors[i].map((e) => {
          const c = columnOf(e.field);
          return [nums[i], e.field, e.message, e.code, c < 0 ? "" : headers[c], c < 0 ? "" : (rows[i][c] ?? "")];
        }),
      ),
    ], rules!.csvSafe);
  $("#imp-results-csv").onclick = () =>
    downloadCsv(`${base()}.results.csv`, [
      ["row", "email", "status", "id", "password", "message"],
      ...(outcome as Outcome[]).map((x, i) => [nums[i], x.email ?? payloads[i]?.email ?? "", x.status, x.id ?? "", x.password ?? "", x.message ?? ""]),
    ], rules!.csvSafe);
}
