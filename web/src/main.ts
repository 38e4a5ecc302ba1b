// The organizer's page: routes between the views and loads what each needs. The create
// forms (create.ts) are the first view and load with the page; the rulebook loads after
// first paint; the Import tab and the People and Sponsors views are fetched the first time
// they open. The URL names the view and its filters (`#/people?q=jan&type=Speaker`), so a
// reload or a shared link shows the same list.
import "./style.css";
import { keyInput, readOnlyNote } from "./api";
import { pristine } from "./create";
import { $, $$, type Rules } from "./dom";
import { useRules } from "./fields";

/** What a lazily loaded view module exports (src/people.ts, src/sponsors.ts). */
export interface View {
  /** Shows the view for the route's parameters (the part after `?` in the hash). */
  show(params: URLSearchParams): void;
}
export interface ViewModule {
  mount(panel: HTMLElement, ctx: { pristine: typeof pristine }): View;
}

// ---- The rulebook: loaded after first paint; until then the server's answer is the check. ----
const status = $(document, "#rules-status");
// Not `import("onboard-rules")`: see src/rules.ts. The URL is the dev server's or the build's.
const RULES = import.meta.env.DEV ? "/src/rules.ts" : "/assets/rules.js";
const loading = import(/* @vite-ignore */ RULES) as Promise<Rules>;
loading.then(
  (r) => {
    $(document, "#timezones").append(...r.timezones().map((t) => new Option(t)));
    for (const sel of [document, pristine.user].flatMap((root) => $$<HTMLSelectElement>(root, "[name=status]"))) {
      const v = sel.value;
      sel.replaceChildren(sel.options[0], ...r.statuses().map((s) => new Option(s)));
      sel.value = v;
    }
    status.textContent = "Fields are checked as you type, with the same rules the server applies.";
    useRules(r);
  },
  () => {
    status.textContent = "The rules could not be loaded here; the server checks each form when you submit it.";
  },
);

// ---- Routes: one tab per view, the hash names it. ----
const ROUTES: Record<string, string> = {
  "new-user": "tab-user",
  "new-sponsor": "tab-sponsor",
  import: "tab-import",
  people: "tab-people",
  sponsors: "tab-sponsors",
};
const tabs = $$<HTMLButtonElement>(document, "[role=tab]");
const routeOf = (tab: HTMLButtonElement) => Object.keys(ROUTES).find((r) => ROUTES[r] === tab.id)!;
/** The last hash of each route, so a tab comes back to the list as it was left. */
const lastHash = new Map<string, string>();

function parseHash(): { route: string; params: URLSearchParams } {
  const m = /^#\/([\w-]+)(?:\?(.*))?$/.exec(location.hash);
  const route = m && ROUTES[m[1]] ? m[1] : "new-user";
  return { route, params: new URLSearchParams(m?.[2] ?? "") };
}

function showRoute(focus: boolean) {
  const { route, params } = parseHash();
  const tab = $<HTMLButtonElement>(document, `#${ROUTES[route]}`);
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute("aria-selected", String(on));
    t.tabIndex = on ? 0 : -1;
    $(document, "#" + t.getAttribute("aria-controls")).hidden = !on;
  }
  if (location.hash) lastHash.set(route, location.hash);
  if (route === "import") openImport();
  if (route === "people" || route === "sponsors") void openView(route, params);
  if (focus) tab.focus();
}

function selectTab(tab: HTMLButtonElement) {
  // The views keep their filters in the hash (history.replaceState): remember them.
  const now = parseHash().route;
  if (location.hash) lastHash.set(now, location.hash);
  const route = routeOf(tab);
  const hash = lastHash.get(route) ?? `#/${route}`;
  if (location.hash === hash || (!location.hash && route === "new-user")) showRoute(true);
  else {
    history.pushState(null, "", hash);
    showRoute(true);
  }
}

// WAI-ARIA tabs pattern: arrows move between tabs, Tab goes into the panel.
tabs.forEach((t, i) => {
  t.onclick = () => selectTab(t);
  t.onkeydown = (e) => {
    const d = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (d) {
      e.preventDefault();
      selectTab(tabs[(i + d + tabs.length) % tabs.length]);
    }
  };
});
window.addEventListener("popstate", () => showRoute(false));
window.addEventListener("hashchange", () => showRoute(false));

// ---- The Import tab: its code and CSV parser (src/import.ts) are fetched when it first opens. ----
let imported: Promise<void> | undefined;
function openImport() {
  const panel = $(document, "#panel-import");
  imported ??= import(/* @vite-ignore */ import.meta.env.DEV ? "/src/import.ts" : "/assets/import.js").then(
    (m) => {
      m.mount(panel, loading, keyInput);
      // An import with a read-only key would stop at its first request (403): say so first.
      if (panel.querySelector(".banner")) readOnlyNote(panel, "importing");
    },
    () => {
      $(panel, "p").textContent = "The import tool could not be loaded: reload the page to try again.";
    },
  );
}

// ---- The People and Sponsors views: fixed-name chunks (see vite.config.ts), fetched on demand. ----
const views = new Map<string, Promise<View | undefined>>();
async function openView(route: string, params: URLSearchParams) {
  const panel = $(document, `#panel-${route}`);
  if (!views.has(route)) {
    const url = import.meta.env.DEV ? `/src/${route}.ts` : `/assets/${route}.js`;
    views.set(
      route,
      (import(/* @vite-ignore */ url) as Promise<ViewModule>).then(
        (m) => m.mount(panel, { pristine }),
        () => {
          views.delete(route);
          $(panel, "p").textContent = "This view could not be loaded: reload the page to try again.";
          return undefined;
        },
      ),
    );
  }
  (await views.get(route))?.show(params);
}

showRoute(false);
