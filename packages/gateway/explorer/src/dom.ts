/**
 * A tiny element builder. Every value from the API is untrusted (agent cards
 * carry arbitrary text): it becomes text nodes or attribute values, never
 * HTML, and only http(s) URLs become links out.
 * @module
 */

/** A child: a node, text, or nothing. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child as readonly Child[]) append(parent, c);
    return;
  }
  parent.appendChild(
    child instanceof Node ? child : document.createTextNode(String(child as string | number)),
  );
}

/** Creates an HTML element: `h("a", { href: "/x" }, "text")`. `on*` attributes take listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const c of children) append(el, c);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Creates an SVG element. */
export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  for (const c of children) append(el, c);
  return el;
}

/** A link inside the explorer (navigates without reloading). */
export function link(path: string, ...children: Child[]): HTMLAnchorElement {
  return h("a", { href: path, "data-nav": true }, ...children);
}

/** A link out of the explorer, only for http(s) URLs; anything else is shown as text. */
export function externalLink(url: string, ...children: Child[]): HTMLElement {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (parsed === null || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) {
    return h("span", null, ...(children.length === 0 ? [url] : children));
  }
  return h(
    "a",
    { href: parsed.href, rel: "noopener noreferrer", target: "_blank" },
    ...(children.length === 0 ? [url] : children),
  );
}

/** Shortens a long hex value for display (the full value is in the title). */
export function short(hex: string, keep = 10): string {
  return hex.length <= keep * 2 + 1 ? hex : `${hex.slice(0, keep)}…${hex.slice(-keep + 2)}`;
}

/** A monospace hex value, shortened, with the full value as a tooltip. */
export function mono(value: string, keep?: number): HTMLElement {
  return h("code", { title: value }, keep === undefined ? value : short(value, keep));
}

/** A definition list of [label, value] rows. */
export function fields(rows: readonly (readonly [string, Child] | null | false)[]): HTMLElement {
  const dl = h("dl", { class: "fields" });
  for (const row of rows) {
    if (!row) continue;
    dl.append(h("dt", null, row[0]), h("dd", null, row[1]));
  }
  return dl;
}

/** A table from a header and rows. */
export function table(head: readonly string[], rows: readonly Child[][], cls = ""): HTMLElement {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: cls || null },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          head.map((c) => h("th", null, c)),
        ),
      ),
      h(
        "tbody",
        null,
        rows.map((r) =>
          h(
            "tr",
            null,
            r.map((c) => h("td", null, c)),
          ),
        ),
      ),
    ),
  );
}

/** A status badge; `kind` picks its colour class. */
export function badge(text: string, kind = text): HTMLElement {
  return h("span", { class: `badge badge-${kind.replace(/[^a-z0-9-]/gi, "")}` }, text);
}

/** Pretty JSON in a collapsible block. */
export function jsonBlock(summary: string, value: unknown, open = false): HTMLElement {
  return h(
    "details",
    { class: "json", open },
    h("summary", null, summary),
    h("pre", null, JSON.stringify(value, null, 2)),
  );
}

/** A date (ISO text or unix seconds) in the reader's locale, ISO in the tooltip. */
export function when(value: string | number | null | undefined): Child {
  if (value === null || value === undefined || value === "") return "—";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return h(
    "time",
    { datetime: date.toISOString(), title: date.toISOString() },
    date.toLocaleString(),
  );
}
