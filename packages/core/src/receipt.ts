import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { AttestationQuoteSchema } from "./attestation-formats.js";
import type { AttestationPolicy } from "./attestation-verify.js";
import { canonicalJson } from "./canonical-json.js";
import { openCheckpoint } from "./checkpoint.js";
import { keyMemo } from "./ed25519-backend.js";
import { recoverAddress, type SigningDomain, typedDataDigest, ZERO_HASH } from "./eip712.js";
import { entryDigest, entryLeafHash } from "./entry.js";
import { ChaosCoreError, type ErrorCode, isChaosCoreError } from "./errors.js";
import { keccak256Hex, sha256Hex } from "./hash.js";
import { type Address, bytesToBase64, bytesToHex, type Hex } from "./hex.js";
import { verifyInclusion } from "./merkle.js";
import { parseVerifierKey } from "./note.js";
import {
  type AttestationSummary,
  isTeeEvidence,
  judgeReceiptAttestation,
  receiptAttestationHash,
  type TeeEvidenceVerifier,
} from "./receipt-attestation.js";
import { ReceiptProofMemo } from "./receipt-proofs.js";
import {
  ActionEntrySchema,
  AddressHex,
  Base64Hash,
  ChainIdString,
  compileParser,
  HexBytes32,
  type KeyRotation,
  KeyRotationSchema,
  type LogEntry,
  OutcomeEntrySchema,
} from "./schemas.js";
import { shardNumberOfOrigin, verifyShardCertificate } from "./shard-certificate.js";
import type { EcdsaVerifier } from "./tee/ecdsa.js";
import { type AttestationTrustPolicy, TeeEvidenceSchema } from "./tee/evidence.js";

/**
 * v2: its entries are `chaoscore.entry/v2` (signed for one deployment); its
 * attestation is a mock quote or null.
 */
export const RECEIPT_FORMAT = "chaoscore.receipt/v2";
/**
 * v3: v2 whose `attestation` is real TEE evidence (`chaoscore.tee-evidence/v1`),
 * never null nor a mock quote: the format follows from the content, so a
 * receipt has one encoding (docs/spec/receipt.md §3).
 */
export const RECEIPT_FORMAT_V3 = "chaoscore.receipt/v3";
/** The receipt formats this verifier reads. */
export const RECEIPT_FORMATS = [RECEIPT_FORMAT, RECEIPT_FORMAT_V3] as const;

const EntryProof = <T extends TSchema>(entry: T) =>
  Type.Object(
    {
      entry,
      leafIndex: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
      inclusionProof: Type.Array(Base64Hash, { maxItems: 64 }),
      keyRotations: Type.Array(KeyRotationSchema, { maxItems: 64 }),
    },
    { additionalProperties: false },
  );

/**
 * Where the receipt's checkpoint is anchored on chain: the CheckpointAnchor
 * contract stores (size, root) of the log `logId` = keccak256(origin) at
 * position `index`, written by transaction `txHash` in block `blockNumber`.
 */
export const ReceiptAnchorSchema = Type.Object(
  {
    chainId: ChainIdString,
    contract: AddressHex,
    logId: HexBytes32,
    index: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    txHash: HexBytes32,
    blockNumber: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  },
  { additionalProperties: false },
);

export const ReceiptSchema = Type.Object(
  {
    format: Type.Union([Type.Literal(RECEIPT_FORMAT), Type.Literal(RECEIPT_FORMAT_V3)]),
    action: EntryProof(ActionEntrySchema),
    outcome: Type.Union([EntryProof(OutcomeEntrySchema), Type.Null()]),
    payload: Type.Optional(Type.Unknown()),
    checkpoint: Type.String({ maxLength: 65536 }),
    anchor: Type.Union([ReceiptAnchorSchema, Type.Null()]),
    /** v2: a mock quote or null; v3: TEE evidence (the format tags tell them apart). */
    attestation: Type.Union([AttestationQuoteSchema, TeeEvidenceSchema, Type.Null()]),
    /**
     * The checkpoint's log is shard n ≥ 1 of a log family: the shard
     * certificate (a `chaoscore.log-shard/v1` note signed by the family key)
     * that certifies its origin and key (docs/spec/receipt.md §7). Absent for
     * a log that is no shard, and for shard 0 (the family's own log).
     */
    shard: Type.Optional(Type.String({ minLength: 1, maxLength: 65536 })),
  },
  { additionalProperties: false },
);

export type Receipt = Static<typeof ReceiptSchema>;
export type ReceiptEntryProof = Receipt["action"];
export type ReceiptAnchor = Static<typeof ReceiptAnchorSchema>;

/** Options of {@link verifyReceipt}. */
export type VerifyReceiptOptions = {
  /**
   * How to judge an attestation carried by the receipt. Without it, only the
   * binding is checked (the quote hashes to the action's attestationHash);
   * with it, the quote itself is verified — its certificate chain up to one of
   * `trustedRoots`, its signature, the allowed measurements — and its age is
   * measured against the action's timestamp (default at most 3600 s before,
   * 60 s after).
   */
  attestation?: Omit<AttestationPolicy, "now" | "maxAgeSeconds"> & { maxAgeSeconds?: number };
  /**
   * The trust policy's `attestation` member (docs/spec/trust-policy.md,
   * attestation.md §10): judges real evidence (trusted roots, allowed
   * measurements, TCB statuses, maximum age) and, with its `mock` roots, mock
   * quotes. Real evidence is judged whenever `attestation` or this is given
   * (with `{}`, the pinned vendor roots and defaults).
   */
  attestationPolicy?: AttestationTrustPolicy;
  /** ECDSA back end for real evidence (default noble; `nodeEcdsaVerifier` in Node is faster). */
  ecdsa?: EcdsaVerifier;
  /**
   * `verifyTeeEvidence`, needed to judge real evidence (without it such a
   * receipt under a policy fails with cause ATTESTATION_VERIFIER_MISSING);
   * `verifyReceiptWithPolicy` and the SDK pass it by default. Not imported
   * here so that browser bundles of `verifyReceipt` stay small.
   */
  evidenceVerifier?: TeeEvidenceVerifier;
};

/** What a valid receipt proves. */
export type VerifiedReceipt = {
  /** The action id (EIP-712 digest of the action message). */
  actionId: Hex;
  /** The outcome id, when the receipt carries an outcome. */
  outcomeId: Hex | null;
  /** The agent that signed the action. */
  agent: Address;
  /** The chain id the entries were signed for. */
  chainId: string;
  /** The deployment the entries were signed for (EIP-712 `verifyingContract`). */
  verifyingContract: Address;
  leafIndex: number;
  /** The checkpoint the proofs lead to. */
  origin: string;
  /**
   * When the checkpoint is of shard n ≥ 1 of the trusted log family: which
   * shard, certified by the receipt's shard certificate under the trusted
   * (family) key, and the shard key the checkpoint verified under.
   */
  shard?: { family: string; number: number; verifierKey: string };
  treeSize: number;
  rootHash: string;
  /** The on-chain anchor claimed by the receipt (checked on chain by `verifyReceiptAnchor` in @chaoscore/chain). */
  anchor: ReceiptAnchor | null;
  /**
   * The action's attestation: `none` (no attestationHash), `absent` (the
   * action names one the receipt does not carry), `bound` (carried and bound
   * to the action; the quote was not judged), `verified` (also verified
   * under the given policy).
   */
  attestation: "none" | "absent" | "bound" | "verified";
  /**
   * When `verified`: which platform, which measurements, which TCB status,
   * which root, and whether the evidence names the acting agent.
   */
  attestationResult?: AttestationSummary;
};

const parseReceiptShape = compileParser(ReceiptSchema, "RECEIPT_MALFORMED", "receipt");

function fail(code: ErrorCode, message: string, cause?: unknown): never {
  throw new ChaosCoreError(code, message, cause === undefined ? {} : { cause });
}

/**
 * Parses a receipt (JSON text or a parsed value) against the
 * `chaoscore.receipt/v2` or `/v3` schema, without verifying it (v3 exactly
 * when the attestation is TEE evidence, else RECEIPT_MALFORMED).
 * @throws ChaosCoreError RECEIPT_MALFORMED / RECEIPT_UNSUPPORTED_FORMAT.
 */
export function parseReceipt(input: unknown): Receipt {
  let value = input;
  if (typeof input === "string" || input instanceof Uint8Array) {
    try {
      value = JSON.parse(
        typeof input === "string" ? input : new TextDecoder("utf-8", { fatal: true }).decode(input),
      );
    } catch (cause) {
      fail("RECEIPT_MALFORMED", "receipt is not valid JSON", cause);
    }
  }
  if (
    typeof value === "object" &&
    value !== null &&
    "format" in value &&
    !(RECEIPT_FORMATS as readonly unknown[]).includes(value.format)
  ) {
    fail(
      "RECEIPT_UNSUPPORTED_FORMAT",
      `unsupported receipt format ${String(value.format).slice(0, 64)}`,
    );
  }
  const receipt = parseReceiptShape(value);
  // the format follows from the attestation (one encoding per receipt): v3 exactly for TEE evidence
  const evidence = receipt.attestation !== null && isTeeEvidence(receipt.attestation);
  if (evidence !== (receipt.format === RECEIPT_FORMAT_V3)) {
    fail(
      "RECEIPT_MALFORMED",
      evidence
        ? `a ${RECEIPT_FORMAT} receipt carries no TEE evidence (that is ${RECEIPT_FORMAT_V3})`
        : `a ${RECEIPT_FORMAT_V3} receipt carries TEE evidence (chaoscore.tee-evidence/v1)`,
    );
  }
  return receipt;
}

/** Follows the key-rotation chain from the agent id; returns the last key. */
function rotatedSigner(
  agent: Address,
  rotations: readonly KeyRotation[],
  domain: SigningDomain,
): Address {
  let current = agent;
  for (const [i, rotation] of rotations.entries()) {
    if (rotation.message.agent !== agent) {
      fail("RECEIPT_SIGNER_PROOF_INVALID", `key rotation ${i} is for another agent`);
    }
    let signer: Address;
    try {
      signer = recoverAddress(
        typedDataDigest("RotateAgentKey", rotation.message, domain),
        rotation.signature,
      );
    } catch (cause) {
      fail("RECEIPT_SIGNER_PROOF_INVALID", `key rotation ${i} has a malformed signature`, cause);
    }
    if (signer !== current) {
      fail("RECEIPT_SIGNER_PROOF_INVALID", `key rotation ${i} is not signed by the previous key`);
    }
    current = rotation.message.newSigner;
  }
  return current;
}

function checkEntry(
  what: string,
  proof: {
    entry: LogEntry;
    leafIndex: number;
    inclusionProof: string[];
    keyRotations: KeyRotation[];
  },
  checkpoint: { size: number; rootHash: Uint8Array },
  proofs: ReceiptProofMemo,
): Hex {
  const { entry } = proof;
  const digest = entryDigest(entry);
  let signer: Address;
  try {
    signer = recoverAddress(digest, entry.signature);
  } catch (cause) {
    fail("RECEIPT_SIGNATURE_INVALID", `${what} signature is malformed`, cause);
  }
  const expected =
    proof.keyRotations.length === 0
      ? entry.message.agent
      : rotatedSigner(entry.message.agent, proof.keyRotations, {
          chainId: BigInt(entry.chainId),
          verifyingContract: entry.verifyingContract,
        });
  if (signer !== expected) {
    fail(
      proof.keyRotations.length === 0
        ? "RECEIPT_SIGNATURE_INVALID"
        : "RECEIPT_SIGNER_PROOF_INVALID",
      `${what} is not signed by its agent ${entry.message.agent}`,
    );
  }
  try {
    verifyInclusion(
      entryLeafHash(entry),
      proof.leafIndex,
      checkpoint.size,
      proof.inclusionProof.map((h) => proofs.decode(h)),
      checkpoint.rootHash,
      (left, right) => proofs.node(left, right),
    );
  } catch (cause) {
    fail("RECEIPT_INCLUSION_INVALID", `${what} is not included in the checkpoint's tree`, cause);
  }
  return bytesToHex(digest);
}

/**
 * Verifies a receipt offline against the log's trusted verifier key (a C2SP
 * note verifier key, `<origin>+<keyid>+<base64 key>`). Checks, in order: the
 * schema; the checkpoint's signature; each entry's agent signature (following
 * key rotations); each entry's inclusion in the checkpoint's tree; that the
 * outcome refers to the action; and that the payload, if present, hashes to
 * the signed payload hash. See docs/spec/receipt.md.
 *
 * A checkpoint of shard n ≥ 1 of the trusted key's log family (origin
 * `<family origin>/s<n>`) verifies under the shard key that the receipt's
 * `shard` certificate names, when that certificate verifies under the trusted
 * (family) key (docs/spec/receipt.md §7).
 *
 * @returns what the receipt proves (with `shard` for a receipt of a shard).
 * @throws ChaosCoreError RECEIPT_MALFORMED, RECEIPT_UNSUPPORTED_FORMAT,
 * RECEIPT_SHARD_UNCERTIFIED, RECEIPT_SHARD_CERTIFICATE_INVALID,
 * RECEIPT_SHARD_MISMATCH, RECEIPT_CHECKPOINT_INVALID, RECEIPT_SIGNATURE_INVALID,
 * RECEIPT_SIGNER_PROOF_INVALID, RECEIPT_INCLUSION_INVALID,
 * RECEIPT_OUTCOME_MISMATCH, RECEIPT_PAYLOAD_MISMATCH.
 * @example
 * ```ts
 * const { actionId, treeSize } = verifyReceipt(JSON.parse(text), "chaoscore.local/log/default+1a2b3c4d+AQ…");
 * ```
 */
export function verifyReceipt(
  input: unknown,
  trustedLogKey: string,
  options: VerifyReceiptOptions = {},
): VerifiedReceipt {
  const receipt = parseReceipt(input);
  const { checkpoint, shard } = openReceiptCheckpoint(receipt, trustedLogKey);
  const proofs = new ReceiptProofMemo(); // the two paths share their upper nodes
  const actionId = checkEntry("the action", receipt.action, checkpoint, proofs);
  let outcomeId: Hex | null = null;
  if (receipt.outcome !== null) {
    if (receipt.outcome.entry.message.action !== actionId) {
      fail("RECEIPT_OUTCOME_MISMATCH", "the outcome refers to another action");
    }
    if (
      receipt.outcome.entry.chainId !== receipt.action.entry.chainId ||
      receipt.outcome.entry.verifyingContract !== receipt.action.entry.verifyingContract
    ) {
      fail("RECEIPT_OUTCOME_MISMATCH", "the outcome was signed for another chain or deployment");
    }
    outcomeId = checkEntry("the outcome", receipt.outcome, checkpoint, proofs);
  }
  if (receipt.payload !== undefined) {
    let hash: Hex;
    try {
      hash = sha256Hex(canonicalJson(receipt.payload));
    } catch (cause) {
      fail("RECEIPT_MALFORMED", "the payload is not JSON", cause);
    }
    if (hash !== receipt.action.entry.message.payloadHash) {
      fail("RECEIPT_PAYLOAD_MISMATCH", "the payload does not hash to the signed payload hash");
    }
  }
  const action = receipt.action.entry;
  let attestation: VerifiedReceipt["attestation"] =
    action.message.attestationHash === ZERO_HASH ? "none" : "absent";
  let attestationResult: AttestationSummary | undefined;
  if (receipt.attestation !== null) {
    if (receiptAttestationHash(receipt.attestation) !== action.message.attestationHash) {
      fail(
        "RECEIPT_ATTESTATION_MISMATCH",
        "the attestation does not hash to the action's attestationHash",
      );
    }
    attestation = "bound";
    if (options.attestation !== undefined || options.attestationPolicy !== undefined) {
      // judged at the action's time; the evidence must name the acting agent (attestation.md §9)
      try {
        attestationResult = judgeReceiptAttestation(receipt.attestation, action.message, {
          ...(options.attestation === undefined ? {} : { mock: options.attestation }),
          ...(options.attestationPolicy === undefined ? {} : { policy: options.attestationPolicy }),
          ...(options.ecdsa === undefined ? {} : { ecdsa: options.ecdsa }),
          ...(options.evidenceVerifier === undefined
            ? {}
            : { evidenceVerifier: options.evidenceVerifier }),
        });
      } catch (cause) {
        const code = isChaosCoreError(cause) ? cause.code : "unknown";
        throw new ChaosCoreError(
          "RECEIPT_ATTESTATION_INVALID",
          `the attestation does not verify (${code})`,
          { cause, details: { cause: code } },
        );
      }
      attestation = "verified";
    }
  }
  if (receipt.anchor !== null) {
    if (receipt.anchor.logId !== keccak256Hex(checkpoint.origin)) {
      fail("RECEIPT_ANCHOR_MISMATCH", "the anchor is for another log than the checkpoint's origin");
    }
  }
  return {
    actionId,
    outcomeId,
    agent: receipt.action.entry.message.agent,
    chainId: receipt.action.entry.chainId,
    verifyingContract: receipt.action.entry.verifyingContract,
    leafIndex: receipt.action.leafIndex,
    origin: checkpoint.origin,
    ...(shard === undefined ? {} : { shard }),
    treeSize: checkpoint.size,
    rootHash: bytesToBase64(checkpoint.rootHash),
    anchor: receipt.anchor,
    attestation,
    ...(attestationResult === undefined ? {} : { attestationResult }),
  };
}

/**
 * Step 2 of receipt verification alone (docs/spec/receipt.md §4, §7.2): opens
 * a parsed receipt's checkpoint under the trusted key, or, for a shard of the
 * trusted key's family, under the shard key its certificate names. For
 * checks that need only the checkpoint (an anchor look-up after `verifyReceipt`).
 * @throws ChaosCoreError RECEIPT_SHARD_UNCERTIFIED, RECEIPT_SHARD_CERTIFICATE_INVALID,
 * RECEIPT_SHARD_MISMATCH, RECEIPT_CHECKPOINT_INVALID.
 * @example
 * ```ts
 * const { checkpoint } = openReceiptCheckpoint(parseReceipt(text), logKey);
 * ```
 */
export function openReceiptCheckpoint(
  receipt: Receipt,
  trustedLogKey: string,
): {
  checkpoint: { origin: string; size: number; rootHash: Uint8Array };
  shard: VerifiedReceipt["shard"] | undefined;
} {
  const shard = certifiedShard(receipt, trustedLogKey);
  try {
    return {
      checkpoint: openCheckpoint(receipt.checkpoint, shard?.verifierKey ?? trustedLogKey),
      shard,
    };
  } catch (cause) {
    const code = isChaosCoreError(cause) ? cause.code : "unknown";
    throw new ChaosCoreError(
      "RECEIPT_CHECKPOINT_INVALID",
      `the checkpoint does not verify under the trusted key (${code})`,
      { details: { cause: code }, cause },
    );
  }
}

// A verifier checks many receipts of few logs: parsing a key costs a curve operation.
const keyName = keyMemo((key) => parseVerifierKey(key).name);
// ...and of few shards: a certificate verified under a key stays verified (only successes are kept).
const verifiedCertificate = keyMemo((keyAndCertificate) => {
  const newline = keyAndCertificate.indexOf("\n");
  return verifyShardCertificate(
    keyAndCertificate.slice(newline + 1),
    keyAndCertificate.slice(0, newline),
  );
});

/** The origin a signed checkpoint claims (its first line), before anything is verified. */
function claimedOrigin(note: string): string {
  const end = note.indexOf("\n");
  return end < 0 ? note : note.slice(0, end);
}

/**
 * Step 2 of docs/spec/receipt.md §4 for shards (§7): the key the receipt's
 * checkpoint must verify under — the certified shard key when the receipt
 * carries a certificate (which must verify under the trusted family key and
 * certify the checkpoint's origin), else the trusted key itself (undefined),
 * which refuses a shard origin of its family without a certificate.
 */
function certifiedShard(
  receipt: Receipt,
  trustedLogKey: string,
): VerifiedReceipt["shard"] | undefined {
  let family: string;
  try {
    family = keyName(trustedLogKey);
  } catch (cause) {
    fail("RECEIPT_CHECKPOINT_INVALID", "the trusted log key is malformed (NOTE_MALFORMED)", cause);
  }
  const origin = claimedOrigin(receipt.checkpoint);
  if (receipt.shard === undefined) {
    const n = shardNumberOfOrigin(family, origin);
    if (n !== undefined && n > 0) {
      throw new ChaosCoreError(
        "RECEIPT_SHARD_UNCERTIFIED",
        `the checkpoint is of shard ${n} of ${family} but the receipt carries no shard certificate`,
        { details: { origin, shard: n } },
      );
    }
    return undefined;
  }
  let certified: { shard: number; shardOrigin: string; shardVerifierKey: string };
  try {
    certified = verifiedCertificate(`${trustedLogKey}\n${receipt.shard}`);
  } catch (cause) {
    const code = isChaosCoreError(cause) ? cause.code : "unknown";
    throw new ChaosCoreError(
      "RECEIPT_SHARD_CERTIFICATE_INVALID",
      `the shard certificate does not verify under the trusted log key (${code})`,
      { cause, details: { cause: code } },
    );
  }
  if (certified.shardOrigin !== origin) {
    throw new ChaosCoreError(
      "RECEIPT_SHARD_MISMATCH",
      "the shard certificate is for another origin than the checkpoint's",
      { details: { origin, certified: certified.shardOrigin } },
    );
  }
  return { family, number: certified.shard, verifierKey: certified.shardVerifierKey };
}
