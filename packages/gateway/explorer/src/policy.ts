/**
 * A trust policy pinned in this browser (localStorage): receipts are then
 * verified against its log key and witness quorum instead of the key the
 * server publishes. See docs/spec/trust-policy.md.
 * @module
 */
import {
  type CosignatureCheck,
  checkWitnessQuorum,
  isChaosCoreError,
  parseTrustPolicy,
  type TrustPolicy,
} from "@chaoscore/core";
import type { GatewayInfo } from "./api.js";
import { badge, type Child, fields, h, mono } from "./dom.js";
import type { TrustAnchors } from "./verifier.js";

/** Where the pinned policy's JSON text is kept. */
export const POLICY_STORAGE_KEY = "chaoscore.explorer.trustPolicy";

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled
  }
}

/** The pinned policy, or null (none, or the stored text no longer parses). */
export function pinnedPolicy(): TrustPolicy | null {
  const text = storage()?.getItem(POLICY_STORAGE_KEY);
  if (text === null || text === undefined) return null;
  try {
    return parseTrustPolicy(text);
  } catch {
    return null;
  }
}

/**
 * Parses and pins a policy.
 * @throws ChaosCoreError TRUST_POLICY_* when it does not parse (nothing is stored).
 */
export function pinPolicy(text: string): TrustPolicy {
  const policy = parseTrustPolicy(text);
  storage()?.setItem(POLICY_STORAGE_KEY, text);
  return policy;
}

export function unpinPolicy(): void {
  storage()?.removeItem(POLICY_STORAGE_KEY);
}

/** The trust anchors of a verification: the pinned policy when there is one, else the server's key. */
export function trustAnchors(gw: GatewayInfo): TrustAnchors {
  const policy = pinnedPolicy();
  return {
    verifierKey: policy?.log.key ?? gw.log.verifierKey,
    trustedTeeRoots: gw.trustedTeeRoots,
    policy,
  };
}

/** One line per cosignature: the witness, its key ID, the time and ✓ or ✗. */
export function cosignatureList(cosignatures: readonly CosignatureCheck[]): HTMLElement {
  if (cosignatures.length === 0) return h("span", { class: "muted" }, "none by a policy witness");
  return h(
    "ul",
    { class: "cosignatures" },
    cosignatures.map((c) =>
      h(
        "li",
        {
          "data-testid": "cosignature",
          "data-verified": String(c.verified),
          "data-witness": c.name,
        },
        c.verified ? "✓ " : "✗ ",
        h("code", null, `${c.name}+${c.keyId}`),
        ` at ${new Date(c.timestamp * 1000).toISOString()}`,
        c.verified ? "" : " (does not verify)",
      ),
    ),
  );
}

/** A checkpoint's witnesses under the policy: "k/n witnesses", ok when the quorum is met. */
export function witnessBadge(note: string, policy: TrustPolicy): HTMLElement {
  try {
    const q = checkWitnessQuorum(note, policy);
    const text = `${q.verified}/${q.required} witnesses`;
    return h(
      "span",
      { "data-testid": "checkpoint-witnesses", "data-verified": q.verified },
      " ",
      q.verified >= q.required ? badge(`✓ ${text}`, "ok") : badge(`✗ ${text}`, "fail"),
    );
  } catch (error) {
    return badge(`✗ ${isChaosCoreError(error) ? error.code : "UNEXPECTED"}`, "fail");
  }
}

/** What a pinned policy says, in a few fields. */
export function policySummary(policy: TrustPolicy): HTMLElement {
  return fields([
    ["Log key", mono(policy.log.key, 18)],
    [
      "Witnesses",
      `${policy.witnesses.quorum} of ${policy.witnesses.keys.length} must cosign` as Child,
    ],
    [
      "Anchors",
      policy.anchors.length === 0
        ? "any"
        : policy.anchors.map((a) => `chain ${a.chainId} at ${a.contract}`).join("; "),
    ],
  ]);
}

/**
 * The panel that pins a policy (paste or upload its JSON) or unpins it.
 * `onChange` runs after each change.
 */
export function policyPanel(onChange: () => void = () => {}): HTMLElement {
  const input = h("textarea", {
    id: "policy-input",
    rows: 8,
    spellcheck: "false",
    placeholder: '{ "format": "chaoscore.trust-policy/v1", "log": { "key": "…" }, … }',
  });
  const file = h("input", { type: "file", id: "policy-file", accept: "application/json,.json" });
  const status = h("div", { "data-testid": "pinned-policy", "aria-live": "polite" });
  const show = (error?: { code: string; message: string }) => {
    const policy = pinnedPolicy();
    status.replaceChildren(
      error === undefined
        ? ""
        : h(
            "div",
            { class: "verdict fail", "data-testid": "policy-error", "data-code": error.code },
            h("code", { class: "code" }, error.code),
            h("p", null, error.message),
          ),
      policy === null
        ? h(
            "p",
            { "data-state": "none" },
            "No policy pinned: receipts are checked against the log key this server publishes.",
          )
        : h(
            "div",
            { "data-state": "pinned" },
            h(
              "p",
              null,
              h("strong", null, "Pinned in this browser:"),
              " receipts are checked against this policy, not the server's key.",
            ),
            policySummary(policy),
          ),
    );
  };
  const pin = () => {
    try {
      pinPolicy(input.value);
      show();
      onChange();
    } catch (error) {
      show(
        isChaosCoreError(error)
          ? { code: error.code, message: error.message }
          : { code: "UNEXPECTED", message: String(error) },
      );
    }
  };
  file.addEventListener("change", async () => {
    const f = file.files?.[0];
    if (f !== undefined) {
      input.value = await f.text();
      pin();
    }
  });
  show();
  return h(
    "div",
    { class: "policy-panel" },
    h(
      "p",
      null,
      "A trust policy names the log key, the witnesses that must cosign each checkpoint (k of n) and the anchor contracts you trust. Pinned here, it is kept in this browser only.",
    ),
    input,
    h(
      "div",
      { class: "buttons" },
      h(
        "button",
        { type: "button", id: "pin-policy", class: "primary", onclick: pin },
        "Pin this policy",
      ),
      h(
        "button",
        {
          type: "button",
          id: "unpin-policy",
          onclick: () => {
            unpinPolicy();
            show();
            onChange();
          },
        },
        "Unpin",
      ),
      file,
    ),
    status,
  );
}
