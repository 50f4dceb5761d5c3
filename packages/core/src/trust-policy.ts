/**
 * Trust policies (`chaoscore.trust-policy/v1`): one small JSON document that
 * says whom a verifier trusts — the log's key, the witnesses whose
 * cosignatures it requires (k of n) and, optionally, the chains and
 * CheckpointAnchor contracts whose anchors count. See docs/spec/trust-policy.md.
 *
 * ```json
 * {
 *   "format": "chaoscore.trust-policy/v1",
 *   "log": { "key": "chaoscore.local/log/default+1a2b3c4d+AQ…" },
 *   "witnesses": { "keys": ["witness.example/w1+…+BA…", "witness.example/w2+…+BA…"], "quorum": 2 },
 *   "anchors": [{ "chainId": "31337", "contract": "0x5fbd…" }]
 * }
 * ```
 * @module
 */
import { type Static, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { parseWitnessVerifierKey, type WitnessKey } from "./cosignature.js";
import { fail, isChaosCoreError } from "./errors.js";
import { type Address, hexOf, utf8Length } from "./hex.js";
import { parseVerifierKey } from "./note.js";
import { type AttestationTrustPolicy, parseAttestationPolicy } from "./tee/evidence.js";

export const TRUST_POLICY_FORMAT = "chaoscore.trust-policy/v1";

/** Most witness keys a policy may name. */
export const MAX_POLICY_WITNESSES = 64;
/** Most trusted anchor contracts a policy may name. */
export const MAX_POLICY_ANCHORS = 64;
/** Largest policy document accepted, in bytes. */
export const MAX_POLICY_SIZE = 64 * 1024;

/** A chain and CheckpointAnchor contract whose anchors the policy trusts. */
export type TrustedAnchor = { readonly chainId: string; readonly contract: Address };

/** A parsed, checked trust policy (optional parts filled with their defaults). */
export type TrustPolicy = {
  readonly format: typeof TRUST_POLICY_FORMAT;
  /** The log's C2SP note verifier key (Ed25519). */
  readonly log: { readonly key: string };
  /** Witness verifier keys (C2SP cosignature/v1) and how many must have cosigned; quorum 0 without witnesses. */
  readonly witnesses: { readonly keys: readonly string[]; readonly quorum: number };
  /** Trusted anchor contracts; empty when the policy names none. */
  readonly anchors: readonly TrustedAnchor[];
  /**
   * How a receipt's attestation is judged (platforms, trusted roots, allowed
   * measurements, TCB statuses, maximum age): see {@link AttestationTrustPolicy}
   * and docs/spec/attestation.md §10.
   */
  readonly attestation?: AttestationTrustPolicy;
};

const KeyString = Type.String({ minLength: 1, maxLength: 1024 });
const TrustPolicySchema = Type.Object(
  {
    format: Type.Literal(TRUST_POLICY_FORMAT),
    log: Type.Object({ key: KeyString }, { additionalProperties: false }),
    witnesses: Type.Optional(
      Type.Object(
        {
          keys: Type.Array(KeyString, { maxItems: MAX_POLICY_WITNESSES }),
          quorum: Type.Integer({ minimum: 0, maximum: MAX_POLICY_WITNESSES }),
        },
        { additionalProperties: false },
      ),
    ),
    anchors: Type.Optional(
      Type.Array(
        Type.Object(
          {
            chainId: Type.String({ pattern: "^[1-9][0-9]{0,19}$" }),
            contract: Type.String({ pattern: "^0x[0-9a-fA-F]{40}$" }),
          },
          { additionalProperties: false },
        ),
        { maxItems: MAX_POLICY_ANCHORS },
      ),
    ),
    attestation: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
);
type TrustPolicyJson = Static<typeof TrustPolicySchema>;
const checker = TypeCompiler.Compile(TrustPolicySchema);

function decodeInput(input: unknown): unknown {
  if (typeof input !== "string" && !(input instanceof Uint8Array)) return input;
  const size = typeof input === "string" ? utf8Length(input) : input.length;
  if (size > MAX_POLICY_SIZE) {
    fail("TRUST_POLICY_MALFORMED", `a trust policy is at most ${MAX_POLICY_SIZE} bytes`);
  }
  try {
    const text =
      typeof input === "string" ? input : new TextDecoder("utf-8", { fatal: true }).decode(input);
    return JSON.parse(text);
  } catch (cause) {
    fail("TRUST_POLICY_MALFORMED", "the trust policy is not valid JSON", undefined, cause);
  }
}

/**
 * Parses and checks a trust policy (JSON text, UTF-8 bytes or a parsed value).
 * Every key must parse, witness keys must be distinct (by name and key ID, and
 * by public key), the quorum must not exceed the number of witness keys, and
 * anchors must be distinct. Contract addresses are returned in lowercase.
 * @throws ChaosCoreError TRUST_POLICY_MALFORMED (not JSON, wrong format tag,
 * unknown field, a key that does not parse, a repeated anchor);
 * TRUST_POLICY_NO_KEY (no log key); TRUST_POLICY_DUPLICATE_KEY (a witness
 * listed twice); TRUST_POLICY_QUORUM_INVALID (quorum above the number of witnesses).
 * @example
 * ```ts
 * const policy = parseTrustPolicy(await readFile("policy.json", "utf8"));
 * policy.witnesses.quorum; // 2
 * ```
 */
export function parseTrustPolicy(input: unknown): TrustPolicy {
  const value = decodeInput(input);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail("TRUST_POLICY_MALFORMED", "a trust policy is a JSON object");
  }
  const record = value as Record<string, unknown>;
  if (record.format !== TRUST_POLICY_FORMAT) {
    fail("TRUST_POLICY_MALFORMED", `a trust policy's format is "${TRUST_POLICY_FORMAT}"`, {
      format: String(record.format).slice(0, 64),
    });
  }
  const log = record.log;
  if (
    typeof log !== "object" ||
    log === null ||
    !("key" in log) ||
    typeof log.key !== "string" ||
    log.key.trim() === ""
  ) {
    fail("TRUST_POLICY_NO_KEY", "the trust policy names no log key (log.key)");
  }
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    fail(
      "TRUST_POLICY_MALFORMED",
      `the trust policy is malformed${first ? `: ${first.path || "/"} ${first.message}` : ""}`,
      first ? { path: first.path, problem: first.message } : {},
    );
  }
  const json: TrustPolicyJson = value;
  try {
    parseVerifierKey(json.log.key);
  } catch (cause) {
    const code = isChaosCoreError(cause) ? cause.code : "unknown";
    fail("TRUST_POLICY_MALFORMED", `log.key is not a log verifier key (${code})`, {}, cause);
  }
  const keys = json.witnesses?.keys ?? [];
  const seenIds = new Set<string>();
  const seenPublic = new Set<string>();
  for (const [i, key] of keys.entries()) {
    let parsed: WitnessKey;
    try {
      parsed = parseWitnessVerifierKey(key);
    } catch (cause) {
      fail(
        "TRUST_POLICY_MALFORMED",
        `witnesses.keys[${i}] is not a witness (cosignature/v1) verifier key: ${(cause as Error).message}`,
        { index: i },
        cause,
      );
    }
    const id = `${parsed.name}+${parsed.keyId}`;
    const pub = hexOf(parsed.publicKey);
    if (seenIds.has(id) || seenPublic.has(pub)) {
      fail("TRUST_POLICY_DUPLICATE_KEY", `witnesses.keys[${i}] (${id}) is listed twice`, {
        index: i,
        key: id,
      });
    }
    seenIds.add(id);
    seenPublic.add(pub);
  }
  const quorum = json.witnesses?.quorum ?? 0;
  if (quorum > keys.length) {
    fail(
      "TRUST_POLICY_QUORUM_INVALID",
      `the quorum ${quorum} exceeds the ${keys.length} witness key(s) of the policy`,
      { quorum, witnesses: keys.length },
    );
  }
  const anchors: TrustedAnchor[] = [];
  for (const [i, a] of (json.anchors ?? []).entries()) {
    const anchor = { chainId: a.chainId, contract: a.contract.toLowerCase() as Address };
    if (anchors.some((b) => b.chainId === anchor.chainId && b.contract === anchor.contract)) {
      fail("TRUST_POLICY_MALFORMED", `anchors[${i}] is listed twice`, { index: i });
    }
    anchors.push(anchor);
  }
  let attestation: AttestationTrustPolicy | undefined;
  if (json.attestation !== undefined) {
    try {
      attestation = parseAttestationPolicy(json.attestation);
    } catch (cause) {
      const details = isChaosCoreError(cause) ? cause.details : undefined;
      fail(
        "TRUST_POLICY_MALFORMED",
        `the attestation member is malformed: ${(cause as Error).message}`,
        { path: `/attestation${String(details?.path ?? "")}` },
        cause,
      );
    }
  }
  return {
    format: TRUST_POLICY_FORMAT,
    log: { key: json.log.key },
    witnesses: { keys: [...keys], quorum },
    anchors,
    ...(attestation === undefined ? {} : { attestation }),
  };
}

/**
 * True when the policy trusts anchors on `chainId` at `contract` (any anchor
 * when the policy names none).
 * @example
 * ```ts
 * isTrustedAnchor(policy, receipt.anchor); // false: not a contract the policy names
 * ```
 */
export function isTrustedAnchor(
  policy: TrustPolicy,
  anchor: { chainId: string; contract: string },
): boolean {
  if (policy.anchors.length === 0) return true;
  const contract = anchor.contract.toLowerCase();
  return policy.anchors.some((a) => a.chainId === anchor.chainId && a.contract === contract);
}

/**
 * The parser trust policies use for `witnesses.keys`: C2SP cosignature/v1
 * verifier keys, i.e. {@link parseWitnessVerifierKey}.
 * @throws ChaosCoreError COSIGNATURE_MALFORMED when the key does not parse.
 */
export const parseWitnessKey: (key: string) => WitnessKey = parseWitnessVerifierKey;
