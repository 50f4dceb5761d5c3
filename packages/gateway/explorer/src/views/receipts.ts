/**
 * Actions and receipts: the action list, one action with its receipt verified
 * in the browser (mock quotes and real TEE evidence judged), and the page
 * where a reader pastes a receipt.
 * @module
 */

import type { VerifiedReceipt } from "@chaoscore/core";
import { type ActionRecord, type GatewayInfo, get, query } from "../api.js";
import { badge, type Child, fields, h, jsonBlock, link, mono, short, when } from "../dom.js";
import { cosignatureList, pinnedPolicy, policyPanel, trustAnchors } from "../policy.js";
import { type Verdict, verify } from "../verifier.js";
import {
  ACTION_HEAD,
  actionRows,
  agentLink,
  chainUrl,
  gatewayInfo,
  pagedTable,
  problem,
  section,
  studioLink,
  taskOrProposal,
  type View,
} from "./shared.js";

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
      typeof verdict.details?.cause === "string"
        ? h("p", null, "Cause: ", h("code", { "data-testid": "cause" }, verdict.details.cause))
        : null,
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
      r.shard === undefined
        ? null
        : [
            "Shard",
            h(
              "span",
              { "data-testid": "shard", "data-shard": r.shard.number },
              `shard ${r.shard.number} of the log family ${r.shard.family}: its certificate verified ` +
                "under the trusted log key; the checkpoint is signed by the shard key it certifies",
            ),
          ],
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
      ["Attestation", attestationField(r, verdict.attestationPolicy)],
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

/**
 * The attestation line: its status and, when judged, the platform, the TCB
 * status, the measurements and whether it names the acting agent.
 */
function attestationField(r: VerifiedReceipt, judged: boolean): Child {
  const a = r.attestationResult;
  if (a === undefined) {
    return `${r.attestation}${r.attestation === "bound" && !judged ? " (no TEE root or attestation policy to judge it)" : ""}`;
  }
  return h(
    "div",
    {
      "data-testid": "attestation",
      "data-platform": a.platform,
      "data-tcb-status": a.tcbStatus,
    },
    `verified: ${a.platform}`,
    a.tcbStatus === "n/a"
      ? ""
      : `, TCB ${a.tcbStatus}${a.qeStatus === undefined ? "" : ` (QE ${a.qeStatus})`}`,
    a.timestamp === null ? "" : `, made ${new Date(a.timestamp * 1000).toISOString()}`,
    " — ",
    a.agentBound
      ? badge("bound to the acting agent", "ok")
      : badge("not bound to the acting agent (the policy waives it)", "off"),
    h(
      "ul",
      { class: "measurements" },
      Object.entries(a.measurements).map(([k, v]) =>
        h("li", null, `${/^[0-9]+$/.test(k) ? `PCR${k}` : k} `, mono(v, 12)),
      ),
    ),
    h("p", { class: "muted" }, "root ", mono(a.root, 12)),
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
