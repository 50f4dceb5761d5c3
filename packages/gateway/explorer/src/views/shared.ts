/**
 * Pieces every explorer page uses: the gateway info, links, sections, paged
 * tables, error boxes, action and agent rows.
 * @module
 */
import {
  type ActionRecord,
  type Agent,
  ApiError,
  type GatewayInfo,
  get,
  type Page,
  type Studio,
} from "../api.js";
import { badge, type Child, externalLink, h, link, mono, short, when } from "../dom.js";

/** A rendered page: its title and content. */
export type View = { title: string; body: Child };

// ---- shared pieces ----------------------------------------------------------------------------

let info: Promise<GatewayInfo> | null = null;
/** GET /v1 once per page load: the log key, TEE roots, features and chain links. */
export function gatewayInfo(): Promise<GatewayInfo> {
  info ??= get<GatewayInfo>("/v1").catch((error: unknown) => {
    info = null;
    throw error;
  });
  return info;
}

export const enc = encodeURIComponent;
export const paths = {
  agent: (id: string) => `/explorer/agents/${id}`,
  action: (id: string) => `/explorer/actions/${id}`,
  studio: (id: string) => `/explorer/studios/${enc(id)}`,
  task: (studio: string, task: string) => `/explorer/studios/${enc(studio)}/tasks/${enc(task)}`,
  proposal: (studio: string, p: string) => `/explorer/studios/${enc(studio)}/proposals/${enc(p)}`,
};

export const agentLink = (id: string | null | undefined) =>
  id ? link(paths.agent(id), mono(id, 8)) : "—";
export const actionLink = (id: string | null | undefined) =>
  id ? link(paths.action(id), mono(id, 8)) : "—";
export const studioLink = (id: string | null | undefined) =>
  id ? link(paths.studio(id), id) : "—";

export function chainUrl(explorerUrl: string | null | undefined, kind: "tx" | "address" | "block") {
  return (value: string | number): Child => {
    const text = typeof value === "string" ? mono(value, 10) : String(value);
    if (!explorerUrl) return text;
    return externalLink(`${explorerUrl.replace(/\/+$/, "")}/${kind}/${value}`, text);
  };
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "panel" }, h("h2", null, title), ...children);
}

/** A table whose rows come a page at a time, with a "More" button. */
export function pagedTable<T>(
  head: readonly string[],
  load: (cursor: string | null) => Promise<Page<T>>,
  row: (item: T) => Child[],
  empty: string,
  testId: string,
): HTMLElement {
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "more" }, "More");
  const status = h("p", { class: "muted" });
  const wrap = h(
    "div",
    { class: "paged", "data-testid": testId },
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        null,
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            head.map((c) => h("th", null, c)),
          ),
        ),
        tbody,
      ),
    ),
    status,
    more,
  );
  let cursor: string | null = null;
  let count = 0;
  const next = async () => {
    more.disabled = true;
    try {
      const page = await load(cursor);
      for (const item of page.items) {
        tbody.append(
          h(
            "tr",
            null,
            row(item).map((c) => h("td", null, c)),
          ),
        );
      }
      count += page.items.length;
      cursor = page.nextCursor;
      more.hidden = cursor === null;
      status.textContent = count === 0 ? empty : "";
    } catch (error) {
      status.replaceChildren(problem(error));
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", () => void next());
  void next();
  return wrap;
}

/** An error box with the problem's code. */
export function problem(error: unknown): HTMLElement {
  const code = error instanceof ApiError ? error.code : "ERROR";
  const message = error instanceof Error ? error.message : String(error);
  return h(
    "div",
    { class: "error", role: "alert", "data-code": code },
    h("strong", null, code),
    " ",
    message,
  );
}

export const actionRows = (a: ActionRecord): Child[] => [
  a.leafIndex,
  actionLink(a.id),
  h("code", null, a.actionType),
  agentLink(a.agent),
  a.studio ? studioLink(a.studio) : "—",
  taskOrProposal(a, short(a.task, 14)),
  a.outcomeId ? badge("outcome", "ok") : "",
  when(Number(a.timestamp)),
];
/** An action's task: governance steps name their proposal there. */
export function taskOrProposal(a: ActionRecord, text: string): Child {
  if (!a.task || !a.studio) return a.task || "—";
  return a.actionType.startsWith("governance.")
    ? link(paths.proposal(a.studio, a.task), text)
    : link(paths.task(a.studio, a.task), text);
}
export const ACTION_HEAD = ["leaf", "action", "type", "agent", "studio", "task", "", "signed at"];

export const agentRow = (a: Agent): Child[] => [
  agentLink(a.identity.id),
  a.metadata.card.name ?? "—",
  badge(a.identity.status),
  (a.metadata.card.capabilities ?? []).join(", "),
  when(a.identity.createdAt),
];
export const studioRow = (st: Studio): Child[] => [
  studioLink(st.id),
  st.name,
  st.kind,
  badge(st.status),
  st.spent,
];
