// Small DOM helpers shared by every module of the page (the first load and the lazy views).

export type Json = Record<string, any>;
export type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
export type Rules = typeof import("onboard-rules");

export const $ = <T extends Element = HTMLElement>(root: ParentNode, sel: string): T => root.querySelector<T>(sel)!;
export const $$ = <T extends Element = HTMLElement>(root: ParentNode, sel: string): T[] =>
  Array.from(root.querySelectorAll<T>(sel));

/** An element with attributes and children. Text is always set as text, never parsed as HTML. */
export function h(tag: string, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const k in attrs) el.setAttribute(k, attrs[k]);
  el.append(...kids);
  return el;
}

export const fmt = (n: number) => n.toLocaleString("en");
export const plural = (n: number, one: string, many = one + "s") => `${fmt(n)} ${n === 1 ? one : many}`;

export function copyButton(value: string, what: string): HTMLElement {
  const b = h("button", { type: "button", class: "small", "aria-label": `Copy ${what}` }, "Copy");
  b.onclick = () =>
    navigator.clipboard.writeText(value).then(
      () => (b.textContent = "Copied"),
      () => (b.textContent = "Select and copy by hand"),
    );
  return b;
}

/** A `<dd>` holding a value shown once (a password), with its copy button. */
export function secret(value: string, what: string, ...before: (Node | string)[]): HTMLElement {
  return h("dd", { class: "secret" }, ...before, h("code", {}, value), " ", copyButton(value, what));
}

/** The "shown only once" warning under one or more new passwords. */
export function onceWarning(n: number, to = n > 1 ? "them to each speaker" : "it to the user"): HTMLElement {
  const them = n > 1 ? "them" : "it";
  return h(
    "p",
    { class: "warn" },
    h("strong", {}, "Shown only once. "),
    `Copy the password${n > 1 ? "s" : ""} now and send ${to}: the server keeps only a hash and cannot show ${them} again.`,
  );
}
