/**
 * Agent pages: the list, one agent with its card, actions and reputation.
 * @module
 */
import { type ActionRecord, type Agent, type Explained, get, query, type Score } from "../api.js";
import { reputationChart } from "../chart.js";
import { badge, type Child, fields, h, jsonBlock, link, mono, short, table, when } from "../dom.js";
import {
  ACTION_HEAD,
  actionLink,
  actionRows,
  agentLink,
  agentRow,
  enc,
  gatewayInfo,
  pagedTable,
  paths,
  problem,
  section,
  type View,
} from "./shared.js";

// ---- agents -------------------------------------------------------------------------------------

export async function agentsView(): Promise<View> {
  return {
    title: "Agents",
    body: section(
      "Agents",
      pagedTable<Agent>(
        ["agent", "name", "status", "capabilities", "registered"],
        (cursor) => get(`/v1/agents${query({ limit: 50, cursor })}`),
        agentRow,
        "No agent is registered.",
        "agents",
      ),
    ),
  };
}

export async function agentView(id: string, params: URLSearchParams): Promise<View> {
  const [gw, agent] = await Promise.all([gatewayInfo(), get<Agent>(`/v1/agents/${id}`)]);
  const card = agent.metadata.card;
  const { identity } = agent;
  const body: Child[] = [
    section(
      card.name ?? identity.id,
      h("p", { class: "lead" }, card.description ?? ""),
      fields([
        ["Agent id", mono(identity.id)],
        ["Status", h("span", { "data-testid": "agent-status" }, badge(identity.status))],
        ["Signing key", mono(identity.signer)],
        ["Capabilities", (card.capabilities ?? []).map((c) => badge(c, "cap"))],
        ["Framework", `${card.framework ?? "—"} ${card.version ?? ""}`],
        ["Owner", card.owner ? mono(card.owner) : "—"],
        ["Code measurement", card.codeMeasurement ? mono(card.codeMeasurement, 12) : "—"],
        ["Card version", `${agent.metadata.version} (${short(agent.metadata.cardHash, 8)})`],
        ["Registered", when(identity.createdAt)],
        ["Updated", when(identity.updatedAt)],
      ]),
      jsonBlock("Agent card (as registered)", card),
    ),
  ];
  if (gw.features.reputation) body.push(await reputationSection(id, params));
  body.push(
    section(
      "Actions",
      pagedTable<ActionRecord>(
        ACTION_HEAD,
        (cursor) => get(`/v1/agents/${id}/actions${query({ limit: 25, cursor })}`),
        actionRows,
        "This agent has recorded no action.",
        "agent-actions",
      ),
    ),
  );
  const history = await get<unknown>(`/v1/agents/${id}/history`).catch(() => null);
  if (history !== null) {
    body.push(section("Registry", jsonBlock("History: cards, keys, status changes", history)));
  }
  return { title: card.name ?? short(id), body };
}

async function reputationSection(agent: string, params: URLSearchParams): Promise<HTMLElement> {
  let scores: Score[];
  try {
    scores = (await get<{ items: Score[] }>(`/v1/reputation/${agent}`)).items;
  } catch (error) {
    return section("Reputation", problem(error));
  }
  if (scores.length === 0) {
    return section("Reputation", h("p", { class: "muted" }, "No evidence about this agent yet."));
  }
  const wanted = params.get("dimension");
  const chosen =
    scores.find((s) => s.dimension === wanted) ??
    scores.find((s) => s.dimension === "overall") ??
    (scores[0] as Score);
  const tabs = h(
    "nav",
    { class: "tabs", "aria-label": "dimensions" },
    scores.map((s) =>
      link(
        `${paths.agent(agent)}?dimension=${enc(s.dimension)}`,
        h(
          "span",
          { class: s.dimension === chosen.dimension ? "tab current" : "tab" },
          `${s.dimension} `,
          h("b", null, s.value.toFixed(2)),
        ),
      ),
    ),
  );
  const explained = await get<Explained>(
    `/v1/reputation/${agent}/${enc(chosen.dimension)}${query({ limit: 20 })}`,
  );
  return section(
    "Reputation",
    tabs,
    fields([
      [
        "Score",
        h("span", { "data-testid": "score" }, `${chosen.value.toFixed(4)} (${chosen.dimension})`),
      ],
      ["Confidence", chosen.confidence.toFixed(3)],
      ["Samples", chosen.samples],
      ["Last evidence", when(chosen.lastUpdate)],
    ]),
    h(
      "div",
      { "data-testid": "reputation-chart" },
      reputationChart(explained.history, chosen.dimension),
    ),
    explained.items.length === 0
      ? null
      : h(
          "details",
          null,
          h("summary", null, `Evidence (${explained.items.length} newest)`),
          table(
            ["source", "action", "rater", "value", "weight", "at"],
            explained.items.map((c) => [
              c.source,
              actionLink(c.actionId),
              agentLink(c.rater),
              c.x.toFixed(2),
              c.weight.toFixed(3),
              when(c.timestamp),
            ]),
          ),
        ),
  );
}
