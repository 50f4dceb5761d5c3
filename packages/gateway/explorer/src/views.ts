/**
 * The explorer's pages. Each view reads the public API and returns the
 * page's content; the router (main.ts) puts it in place.
 * @module
 */
import {
  type ActionRecord,
  type Agent,
  ApiError,
  type Checkpoint,
  type Explained,
  type GatewayInfo,
  get,
  type Page,
  type Proposal,
  query,
  type Score,
  type SearchResult,
  type Studio,
  type Task,
} from "./api.js";
import { reputationChart } from "./chart.js";
import {
  badge,
  type Child,
  externalLink,
  fields,
  h,
  jsonBlock,
  link,
  mono,
  short,
  table,
  when,
} from "./dom.js";
import {
  cosignatureList,
  pinnedPolicy,
  policyPanel,
  trustAnchors,
  witnessBadge,
} from "./policy.js";
import { type Verdict, verify, verifyCheckpointNote } from "./verifier.js";

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

const enc = encodeURIComponent;
export const paths = {
  agent: (id: string) => `/explorer/agents/${id}`,
  action: (id: string) => `/explorer/actions/${id}`,
  studio: (id: string) => `/explorer/studios/${enc(id)}`,
  task: (studio: string, task: string) => `/explorer/studios/${enc(studio)}/tasks/${enc(task)}`,
  proposal: (studio: string, p: string) => `/explorer/studios/${enc(studio)}/proposals/${enc(p)}`,
};

const agentLink = (id: string | null | undefined) =>
  id ? link(paths.agent(id), mono(id, 8)) : "—";
const actionLink = (id: string | null | undefined) =>
  id ? link(paths.action(id), mono(id, 8)) : "—";
const studioLink = (id: string | null | undefined) => (id ? link(paths.studio(id), id) : "—");

function chainUrl(explorerUrl: string | null | undefined, kind: "tx" | "address" | "block") {
  return (value: string | number): Child => {
    const text = typeof value === "string" ? mono(value, 10) : String(value);
    if (!explorerUrl) return text;
    return externalLink(`${explorerUrl.replace(/\/+$/, "")}/${kind}/${value}`, text);
  };
}

function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "panel" }, h("h2", null, title), ...children);
}

/** A table whose rows come a page at a time, with a "More" button. */
function pagedTable<T>(
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

const actionRows = (a: ActionRecord): Child[] => [
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
function taskOrProposal(a: ActionRecord, text: string): Child {
  if (!a.task || !a.studio) return a.task || "—";
  return a.actionType.startsWith("governance.")
    ? link(paths.proposal(a.studio, a.task), text)
    : link(paths.task(a.studio, a.task), text);
}
const ACTION_HEAD = ["leaf", "action", "type", "agent", "studio", "task", "", "signed at"];

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

const agentRow = (a: Agent): Child[] => [
  agentLink(a.identity.id),
  a.metadata.card.name ?? "—",
  badge(a.identity.status),
  (a.metadata.card.capabilities ?? []).join(", "),
  when(a.identity.createdAt),
];
const studioRow = (st: Studio): Child[] => [
  studioLink(st.id),
  st.name,
  st.kind,
  badge(st.status),
  st.spent,
];

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

// ---- actions and receipts -----------------------------------------------------------------------

export async function actionsView(): Promise<View> {
  return {
    title: "Actions",
    body: section(
      "Actions (log order)",
      pagedTable<ActionRecord>(
        ACTION_HEAD,
        (cursor) => get(`/v1/actions${query({ limit: 50, cursor })}`),
        actionRows,
        "No action is recorded.",
        "actions",
      ),
    ),
  };
}

export async function actionView(id: string): Promise<View> {
  const [gw, a] = await Promise.all([gatewayInfo(), get<ActionRecord>(`/v1/actions/${id}`)]);
  const receiptPanel = h("div", { class: "receipt", "data-testid": "receipt" });
  const verifyButton = h(
    "button",
    { type: "button", id: "verify-receipt", class: "primary" },
    "Verify the receipt in this browser",
  );
  const tamperButton = h(
    "button",
    { type: "button", id: "verify-tampered" },
    "Verify a tampered copy",
  );
  const result = h("div", { class: "verdict-slot", "aria-live": "polite" });
  let receipt: unknown = null;
  const loadReceipt = async () => {
    receipt ??= await get<unknown>(`/v1/actions/${id}/receipt`);
    return receipt;
  };
  verifyButton.addEventListener("click", async () => {
    result.replaceChildren(h("p", { class: "muted" }, "Verifying…"));
    try {
      const r = await loadReceipt();
      const anchors = await gatewayInfo();
      const verdict = verify(r, trustAnchors(anchors));
      result.replaceChildren(verdictBox(verdict, anchors), receiptDetails(r, id));
    } catch (error) {
      result.replaceChildren(problem(error));
    }
  });
  tamperButton.addEventListener("click", async () => {
    try {
      const r = structuredClone(await loadReceipt()) as {
        action: { entry: { signature: string } };
      };
      // One hex digit of the agent's signature changed: the signer no longer recovers.
      const sig = r.action.entry.signature;
      const last = sig.at(-3) === "0" ? "1" : "0";
      r.action.entry.signature = `${sig.slice(0, -3)}${last}${sig.slice(-2)}`;
      const anchors = await gatewayInfo();
      const verdict = verify(r, trustAnchors(anchors));
      result.replaceChildren(
        h("p", { class: "muted" }, "A copy with one hex digit of the action's signature changed:"),
        verdictBox(verdict, anchors),
      );
    } catch (error) {
      result.replaceChildren(problem(error));
    }
  });
  const pinned = pinnedPolicy();
  receiptPanel.append(
    pinned === null
      ? h(
          "p",
          null,
          "The receipt proves the agent signed this action and the log committed to it. ",
          "It is checked here with ChaosCore's verifier against the log key ",
          mono(gw.log.verifierKey, 18),
          " — no trust in this page's server beyond that key (",
          link("/explorer/verify", "pin a trust policy"),
          " to trust not even that).",
        )
      : h(
          "p",
          { "data-testid": "pinned-note" },
          "The receipt proves the agent signed this action and the log committed to it. ",
          "It is checked here against the trust policy pinned in this browser: log key ",
          mono(pinned.log.key, 18),
          `, ${pinned.witnesses.quorum} of ${pinned.witnesses.keys.length} witnesses — nothing is taken from this page's server.`,
        ),
    h("div", { class: "buttons" }, verifyButton, tamperButton),
    result,
  );
  return {
    title: `Action ${short(id, 6)}`,
    body: [
      section(
        `Action ${short(id, 8)}`,
        fields([
          ["Id", mono(a.id)],
          ["Type", h("code", null, a.actionType)],
          ["Agent", agentLink(a.agent)],
          ["Leaf index", h("span", { "data-testid": "leaf-index" }, a.leafIndex)],
          ["Studio", a.studio ? studioLink(a.studio) : "—"],
          [a.actionType.startsWith("governance.") ? "Proposal" : "Task", taskOrProposal(a, a.task)],
          ["Nonce", a.nonce],
          ["Signed at", when(Number(a.timestamp))],
          ["Recorded", when(a.recordedAt)],
          ["Payload hash", mono(a.payloadHash)],
          ["Payload", a.hasPayload ? "stored (in the receipt)" : "not stored"],
          ["Outcome", a.outcomeId ? mono(a.outcomeId) : "none yet"],
        ]),
      ),
      section("Receipt", receiptPanel),
    ],
  };
}

function receiptDetails(receipt: unknown, id: string): HTMLElement {
  const blob = new Blob([JSON.stringify(receipt, null, 2)], { type: "application/json" });
  return h(
    "div",
    null,
    h(
      "p",
      null,
      h(
        "a",
        { href: URL.createObjectURL(blob), download: `receipt-${id.slice(2, 14)}.json` },
        "Download the receipt",
      ),
      " · verify it offline: ",
      h("code", null, "chaoscore receipt verify receipt.json"),
      " or ",
      link("/explorer/verify", "paste one here"),
    ),
    jsonBlock("Receipt (chaoscore.receipt/v2)", receipt),
  );
}

/** The result of a verification, success or the failing step's code. */
export function verdictBox(verdict: Verdict, gw: GatewayInfo): HTMLElement {
  if (!verdict.ok) {
    return h(
      "div",
      { class: "verdict fail", "data-testid": "verdict", "data-code": verdict.code },
      h("strong", null, "✗ Not valid: "),
      h("code", { class: "code" }, verdict.code),
      h("p", null, verdict.message),
      Array.isArray(verdict.details?.cosignatures)
        ? cosignatureList(verdict.details.cosignatures as Parameters<typeof cosignatureList>[0])
        : null,
    );
  }
  const r = verdict.result;
  const tx = chainUrl(gw.chain?.explorerUrl, "tx");
  return h(
    "div",
    { class: "verdict ok", "data-testid": "verdict", "data-leaf": r.leafIndex },
    h(
      "strong",
      null,
      `✓ Receipt verified in your browser — leaf ${r.leafIndex} of a tree of ${r.treeSize}`,
    ),
    fields([
      ["Action", mono(r.actionId)],
      ["Outcome", r.outcomeId ? mono(r.outcomeId) : "none"],
      ["Agent", agentLink(r.agent)],
      ["Checkpoint", `${r.origin}, size ${r.treeSize}`],
      [
        "Trusted",
        verdict.pinned === true
          ? "the trust policy pinned in this browser"
          : "the log key this server publishes",
      ],
      "witnesses" in r
        ? [
            "Witnesses",
            h(
              "div",
              { "data-testid": "witnesses", "data-verified": r.witnesses.verified },
              `${r.witnesses.verified} of ${r.witnesses.required} required cosigned`,
              cosignatureList(r.witnesses.cosignatures),
            ),
          ]
        : null,
      ["Root hash", mono(r.rootHash)],
      [
        "Attestation",
        `${r.attestation}${r.attestation === "bound" && !verdict.attestationPolicy ? " (no TEE root to judge it)" : ""}`,
      ],
      [
        "Anchor",
        r.anchor === null
          ? "none in the receipt"
          : h(
              "span",
              null,
              `chain ${r.anchor.chainId}, index ${r.anchor.index}, tx `,
              tx(r.anchor.txHash),
              " (check it on chain: chaoscore receipt verify --rpc <url>)",
            ),
      ],
    ]),
  );
}

// ---- paste a receipt ------------------------------------------------------------------------------

export async function verifyView(): Promise<View> {
  const gw = await gatewayInfo();
  const input = h("textarea", {
    id: "receipt-input",
    rows: 12,
    spellcheck: "false",
    placeholder: '{ "format": "chaoscore.receipt/v2", … }',
  });
  const file = h("input", { type: "file", accept: "application/json,.json" });
  const key = h("input", { id: "log-key", type: "text", value: gw.log.verifierKey, size: 80 });
  const out = h("div", { "aria-live": "polite" });
  const run = () => {
    let value: unknown;
    try {
      value = JSON.parse(input.value);
    } catch {
      value = input.value; // verifyReceipt answers RECEIPT_MALFORMED
    }
    const pinned = pinnedPolicy();
    out.replaceChildren(
      verdictBox(
        verify(
          value,
          pinned === null
            ? { verifierKey: key.value.trim(), trustedTeeRoots: gw.trustedTeeRoots }
            : trustAnchors(gw),
        ),
        gw,
      ),
    );
  };
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (f !== undefined) {
      input.value = await f.text();
      run();
    }
  });
  return {
    title: "Verify a receipt",
    body: [
      section(
        "Trust policy",
        policyPanel(() => {
          if (input.value.trim() !== "") run();
        }),
      ),
      section(
        "Verify a receipt",
        h(
          "p",
          null,
          "Paste a chaoscore.receipt/v1 receipt (or choose its file). It is verified in this browser; nothing is sent.",
        ),
        h("label", null, "Trusted log key (unless a policy is pinned) ", key),
        input,
        h(
          "div",
          { class: "buttons" },
          h(
            "button",
            { type: "button", id: "verify-pasted", class: "primary", onclick: run },
            "Verify",
          ),
          file,
        ),
        out,
      ),
    ],
  };
}

// ---- checkpoints ----------------------------------------------------------------------------------

export async function checkpointsView(): Promise<View> {
  const [gw, cps] = await Promise.all([
    gatewayInfo(),
    get<{ items: Checkpoint[] }>("/v1/log/checkpoints?limit=100"),
  ]);
  const explorerUrl = gw.chain?.explorerUrl ?? null;
  const tx = chainUrl(explorerUrl, "tx");
  const address = chainUrl(explorerUrl, "address");
  const block = chainUrl(explorerUrl, "block");
  const pinned = pinnedPolicy();
  const rows = cps.items.map((cp) => {
    const sig = verifyCheckpointNote(cp.note, pinned?.log.key ?? gw.log.verifierKey);
    return [
      h("span", { class: "num" }, cp.size),
      mono(cp.rootHash, 12),
      when(cp.createdAt),
      h(
        "span",
        null,
        sig.ok && sig.size === cp.size
          ? badge("✓ signed", "ok")
          : badge(`✗ ${sig.ok ? "size differs" : sig.code}`, "fail"),
        pinned === null ? null : witnessBadge(cp.note, pinned),
      ),
      cp.anchors.length === 0
        ? h("span", { class: "muted" }, gw.features.anchoring ? "not anchored yet" : "—")
        : h(
            "ul",
            { class: "anchors" },
            cp.anchors.map((a) =>
              h(
                "li",
                { "data-testid": "anchor" },
                badge(a.status),
                ` chain ${a.chainId} · #${a.index} · tx `,
                a.txHash ? tx(a.txHash) : "pending",
                a.blockNumber === null ? "" : [" · block ", block(a.blockNumber)],
                " · contract ",
                address(a.contract),
              ),
            ),
          ),
      jsonBlock("note", cp.note),
    ];
  });
  return {
    title: "Checkpoints",
    body: section(
      "Checkpoints",
      h(
        "p",
        { class: "muted" },
        pinned === null
          ? "Signed tree heads (C2SP checkpoints), newest first. Signatures are checked in this browser against the log key; anchors are the Ethereum transactions that committed them"
          : "Signed tree heads (C2SP checkpoints), newest first. Signatures and witness cosignatures are checked in this browser against the trust policy pinned here; anchors are the Ethereum transactions that committed them",
        explorerUrl ? ` (links open ${explorerUrl}).` : ".",
      ),
      cps.items.length === 0
        ? h("p", { class: "muted" }, "No checkpoint is signed yet.")
        : table(["size", "root", "signed", "signature", "anchors", ""], rows, "checkpoints"),
    ),
  };
}

// ---- studios, tasks, proposals --------------------------------------------------------------------

export async function studiosView(): Promise<View> {
  return {
    title: "Studios",
    body: section(
      "Studios",
      pagedTable<Studio>(
        ["studio", "name", "kind", "status", "spent"],
        (cursor) => get(`/v1/studios${query({ limit: 50, cursor })}`),
        studioRow,
        "No studio yet.",
        "studios",
      ),
    ),
  };
}

const taskRow = (t: Task): Child[] => [
  link(paths.task(t.studio, t.id), t.id),
  t.title,
  badge(t.state),
  agentLink(t.assignee),
  t.verdict ? badge(t.verdict) : "—",
  t.reward ?? "—",
];

export async function studioView(id: string): Promise<View> {
  const studio = await get<Studio>(`/v1/studios/${enc(id)}`);
  const members = await get<{ items: { agent: string; roles: string[]; addedAt: string }[] }>(
    `/v1/studios/${enc(id)}/members`,
  );
  const body: Child[] = [
    section(
      studio.name,
      fields([
        ["Id", h("code", null, studio.id)],
        ["Kind", studio.kind],
        ["Status", badge(studio.status)],
        ["Operator", agentLink(studio.operator)],
        ["Spent", studio.spent],
        ["Created", when(studio.createdAt)],
      ]),
      jsonBlock("Rules, reward policy and configuration", {
        rules: studio.rules,
        rewardPolicy: studio.rewardPolicy,
        config: studio.config,
      }),
    ),
    section(
      "Members",
      table(
        ["agent", "roles", "since"],
        members.items.map((m) => [agentLink(m.agent), m.roles.join(", "), when(m.addedAt)]),
      ),
    ),
  ];
  if (studio.kind === "governance") {
    const dao = await get<unknown>(`/v1/studios/${enc(id)}/dao`).catch(() => null);
    body.push(
      section(
        "Proposals",
        pagedTable<ActionRecord>(
          ["proposal", "proposed by", "signed at", "action"],
          (cursor) =>
            get(
              `/v1/actions${query({ studio: id, actionType: "governance.propose", limit: 25, cursor })}`,
            ),
          (a) => [
            link(paths.proposal(id, a.task), a.task),
            agentLink(a.agent),
            when(Number(a.timestamp)),
            actionLink(a.id),
          ],
          "No proposal yet.",
          "proposals",
        ),
        dao === null ? null : jsonBlock("The DAO's state now", dao),
      ),
    );
  }
  body.push(
    section(
      "Tasks",
      pagedTable<Task>(
        ["task", "title", "state", "assignee", "verdict", "reward"],
        (cursor) => get(`/v1/studios/${enc(id)}/tasks${query({ limit: 25, cursor })}`),
        taskRow,
        "No task yet.",
        "tasks",
      ),
    ),
    section(
      "Actions",
      pagedTable<ActionRecord>(
        ACTION_HEAD,
        (cursor) => get(`/v1/actions${query({ studio: id, limit: 25, cursor })}`),
        actionRows,
        "No action in this studio.",
        "studio-actions",
      ),
    ),
  );
  return { title: studio.name, body };
}

export async function taskView(studio: string, task: string): Promise<View> {
  const t = await get<Task>(`/v1/studios/${enc(studio)}/tasks/${enc(task)}`);
  return {
    title: `Task ${t.id}`,
    body: [
      section(
        t.title,
        fields([
          ["Task", h("code", null, t.id)],
          ["Studio", studioLink(t.studio)],
          ["State", h("span", { "data-testid": "task-state" }, badge(t.state))],
          ["Role", t.role ?? "—"],
          ["Assignee", agentLink(t.assignee)],
          ["Deadline", t.deadline === null ? "—" : when(t.deadline)],
          ["Submitted by action", actionLink(t.submitAction)],
          ["Verdict", t.verdict ? `${t.verdict} (score ${t.score ?? "—"})` : "—"],
          ["Reward", t.reward ?? "—"],
        ]),
        jsonBlock("Input", t.input),
        t.result === null || t.result === undefined ? null : jsonBlock("Result", t.result, true),
      ),
      section(
        "Transitions",
        table(
          ["#", "transition", "from → to", "by", "action", "at"],
          (t.history ?? []).map((e) => [
            e.seq,
            e.transition,
            `${e.from ?? "∅"} → ${e.to}`,
            agentLink(e.actor),
            actionLink(e.actionId),
            when(e.at),
          ]),
        ),
      ),
    ],
  };
}

export async function proposalView(studio: string, id: string): Promise<View> {
  const p = await get<Proposal>(`/v1/studios/${enc(studio)}/proposals/${enc(id)}`);
  const tasks = await get<Page<Task>>(`/v1/studios/${enc(studio)}/tasks?limit=100`).catch(() => ({
    items: [] as Task[],
    nextCursor: null,
  }));
  const mine = tasks.items.filter((t) => t.id.startsWith(`${id}/`));
  const tally = p.tally ?? {};
  return {
    title: `Proposal ${id}`,
    body: [
      section(
        `${p.proposal.title ?? id}`,
        fields([
          ["Proposal", h("code", null, p.id)],
          ["Studio", studioLink(p.studio)],
          ["Kind", String(p.proposal.kind ?? "—")],
          ["State", h("span", { "data-testid": "proposal-state" }, badge(p.state))],
          ["Voting ends", p.votingEndsAt === null ? "—" : when(p.votingEndsAt)],
          [
            "Tally",
            h(
              "span",
              { "data-testid": "tally" },
              `for ${tally.for ?? 0} · against ${tally.against ?? 0} · abstain ${tally.abstain ?? 0} · quorum ${tally.quorumMet ? "met" : "not met"} · ${tally.passed ? "passed" : "not passed"}`,
            ),
          ],
          [
            "Signed steps",
            ["propose", "tally", "execute", ...Object.keys(p.actions)]
              .filter((step, i, all) => p.actions[step] !== undefined && all.indexOf(step) === i)
              .map((step) => [step, p.actions[step] as string] as const)
              .map(([step, action]) =>
                h("span", { class: "step" }, `${step} `, actionLink(action)),
              ),
          ],
        ]),
        jsonBlock("The proposal", p.proposal, true),
        jsonBlock("DAO before / after", { before: p.daoBefore, after: p.daoAfter }),
      ),
      section(
        "Votes",
        table(
          ["voter", "choice", "reason", "action", "at"],
          p.votes.map((v) => [
            agentLink(v.agent),
            badge(v.choice),
            v.reason,
            actionLink(v.actionId),
            when(v.at),
          ]),
        ),
      ),
      section(
        "Analysis tasks",
        mine.length === 0
          ? h("p", { class: "muted" }, "No analysis task.")
          : table(["task", "title", "state", "assignee", "verdict", "reward"], mine.map(taskRow)),
      ),
      p.rewardPlan.length === 0
        ? null
        : section(
            "Reward plan",
            table(
              ["task", "agent", "amount"],
              p.rewardPlan.map((r) => [
                link(paths.task(studio, r.task), r.task),
                agentLink(r.agent),
                r.amount,
              ]),
            ),
          ),
    ],
  };
}

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
