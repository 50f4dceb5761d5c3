/**
 * Search by id, address or text.
 * @module
 */
import { type Agent, get, type Page, query, type SearchResult } from "../api.js";
import { type Child, h, link, table } from "../dom.js";
import {
  ACTION_HEAD,
  actionRows,
  agentLink,
  agentRow,
  paths,
  problem,
  section,
  studioLink,
  type View,
} from "./shared.js";

// ---- search ---------------------------------------------------------------------------------------

const HASH = /^0x[0-9a-f]{64}$/;

export async function searchView(params: URLSearchParams): Promise<View> {
  const q = (params.get("q") ?? "").trim().toLowerCase();
  if (q === "")
    return {
      title: "Search",
      body: section(
        "Search",
        h("p", null, "Type an agent address, an action hash, a studio id or a name."),
      ),
    };
  const body: Child[] = [];
  const isHex = /^0x[0-9a-f]*$/.test(q);
  const [found, agents] = await Promise.all([
    get<SearchResult>(`/v1/search${query({ q, limit: 50 })}`).catch((error: unknown) => error),
    isHex || q.length > 100
      ? Promise.resolve(null)
      : get<Page<Agent>>(`/v1/agents${query({ text: q, limit: 20 })}`).catch(() => null),
  ]);
  if (agents !== null && agents.items.length > 0) {
    body.push(
      section(
        "Agents",
        table(
          ["agent", "name", "status", "capabilities", "registered"],
          agents.items.map(agentRow),
        ),
      ),
    );
  }
  if (found instanceof Error) {
    if (body.length === 0) body.push(section("Search", problem(found)));
  } else {
    const r = found as SearchResult;
    const heading =
      r.kind === "agent"
        ? h("span", null, "Actions of agent ", agentLink(q))
        : r.kind === "studio"
          ? h("span", null, "Actions in studio ", studioLink(q))
          : "Action";
    if (r.kind !== "studio" || r.items.length > 0 || body.length === 0) {
      body.push(
        h(
          "section",
          { class: "panel" },
          h("h2", null, heading),
          h(
            "p",
            { class: "muted" },
            `Each hit is proven included in the checkpoint of size ${r.checkpoint.size}.`,
          ),
          r.items.length === 0
            ? h("p", { class: "muted" }, "Nothing found.")
            : table(
                ACTION_HEAD,
                r.items.map((i) => actionRows(i.action)),
                "results",
              ),
        ),
      );
    }
  }
  if (HASH.test(q) && !(found instanceof Error)) {
    body.unshift(h("p", null, link(paths.action(q), "Open the action and verify its receipt →")));
  }
  return { title: `Search: ${q}`, body };
}
