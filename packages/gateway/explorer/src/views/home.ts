/**
 * The overview page: the log, agents and studios.
 * @module
 */
import { type Agent, get, query, type Studio } from "../api.js";
import { badge, fields, h, link, mono, when } from "../dom.js";
import { agentRow, gatewayInfo, pagedTable, section, studioRow, type View } from "./shared.js";

// ---- home ---------------------------------------------------------------------------------------

export async function homeView(): Promise<View> {
  const [gw, latest] = await Promise.all([
    gatewayInfo(),
    get<{ size: number; rootHash: string; createdAt: string }>("/v1/log/checkpoint"),
  ]);
  return {
    title: "Overview",
    body: [
      section(
        "Transparency log",
        fields([
          ["Origin", mono(gw.log.origin)],
          ["Entries", h("span", { "data-testid": "log-size" }, latest.size)],
          ["Root hash", mono(latest.rootHash)],
          ["Checkpoint signed", when(latest.createdAt)],
          ["Log key", mono(gw.log.verifierKey)],
          ["Chain id", gw.chainId],
          ["Components", Object.entries(gw.features).map(([k, on]) => badge(k, on ? "ok" : "off"))],
        ]),
        h("p", null, link("/explorer/checkpoints", "All checkpoints and their anchors →")),
      ),
      section(
        "Agents",
        pagedTable<Agent>(
          ["agent", "name", "status", "capabilities", "registered"],
          (cursor) => get(`/v1/agents${query({ limit: 10, cursor })}`),
          agentRow,
          "No agent is registered.",
          "home-agents",
        ),
      ),
      gw.features.studios
        ? section(
            "Studios",
            pagedTable<Studio>(
              ["studio", "name", "kind", "status", "spent"],
              (cursor) => get(`/v1/studios${query({ limit: 10, cursor })}`),
              studioRow,
              "No studio yet.",
              "home-studios",
            ),
          )
        : null,
    ],
  };
}
