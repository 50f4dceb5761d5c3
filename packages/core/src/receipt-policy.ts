/**
 * Receipt verification under a trust policy: the log's key, a quorum of
 * witness cosignatures on the receipt's checkpoint, and the trusted anchor
 * contracts. See docs/spec/trust-policy.md §3.
 * @module
 */
import { type CosignatureCheck, verifyCosignatures } from "./cosignature.js";
import { ChaosCoreError, isChaosCoreError } from "./errors.js";
import {
  parseReceipt,
  type VerifiedReceipt,
  type VerifyReceiptOptions,
  verifyReceipt,
} from "./receipt.js";
import { verifyTeeEvidence } from "./tee/evidence.js";
import { isTrustedAnchor, parseTrustPolicy, type TrustPolicy } from "./trust-policy.js";

/** How a checkpoint fares against the policy's witnesses. */
export type WitnessQuorum = {
  /** The policy's quorum. */
  readonly required: number;
  /** Distinct policy witnesses with a valid cosignature. */
  readonly verified: number;
  /** Every cosignature by a policy witness, in note order. */
  readonly cosignatures: readonly CosignatureCheck[];
};

/** What a receipt verified under a policy proves: {@link VerifiedReceipt} plus the witnesses. */
export type VerifiedReceiptWithPolicy = VerifiedReceipt & { readonly witnesses: WitnessQuorum };

/**
 * Counts the valid cosignatures of distinct policy witnesses on a signed
 * checkpoint (C2SP tlog-cosignature). Does not check the log's own signature.
 * A cosignature line whose name and key ID match a policy witness but whose
 * signature fails is listed with `verified: false` and not counted.
 * @throws ChaosCoreError COSIGNATURE_MALFORMED when the note is malformed.
 * @example
 * ```ts
 * const { verified, required } = checkWitnessQuorum(note, policy);
 * ```
 */
export function checkWitnessQuorum(signedNote: string, policy: TrustPolicy): WitnessQuorum {
  const keys = policy.witnesses.keys;
  const cosignatures = keys.length === 0 ? [] : verifyCosignatures(signedNote, keys);
  const distinct = new Set(
    cosignatures.filter((c) => c.verified).map((c) => `${c.name}+${c.keyId}`),
  );
  return { required: policy.witnesses.quorum, verified: distinct.size, cosignatures };
}

/**
 * Verifies a receipt under a trust policy: everything {@link verifyReceipt}
 * checks with the policy's log key, then that at least `witnesses.quorum`
 * distinct witnesses of the policy cosigned the receipt's checkpoint, then,
 * when the policy names `anchors` and the receipt carries an anchor, that the
 * anchor is on one of those chains and contracts (the on-chain look-up is
 * `verifyReceiptAnchor` of `@chaoscore/chain`, given `policy.anchors`).
 * When the policy has an `attestation` member, the receipt's attestation is
 * judged under it (`options.attestationPolicy` replaces it), real evidence
 * with `verifyTeeEvidence` (unless `options.evidenceVerifier` says otherwise).
 *
 * @param policy a parsed {@link TrustPolicy}, or its JSON (text, bytes or value).
 * @returns what the receipt proves, with each cosignature and the quorum.
 * @throws ChaosCoreError TRUST_POLICY_* when the policy does not parse; every
 * code of {@link verifyReceipt}; RECEIPT_WITNESS_QUORUM when fewer witnesses
 * than the quorum cosigned (`details`: required, verified, cosignatures);
 * RECEIPT_ANCHOR_UNTRUSTED when the anchor names another chain or contract.
 * @example
 * ```ts
 * const policy = parseTrustPolicy(await readFile("policy.json", "utf8"));
 * const { actionId, witnesses } = verifyReceiptWithPolicy(receipt, policy);
 * console.log(`${witnesses.verified} of ${witnesses.required} witnesses`);
 * ```
 */
export function verifyReceiptWithPolicy(
  input: unknown,
  policy: TrustPolicy | unknown,
  options: VerifyReceiptOptions = {},
): VerifiedReceiptWithPolicy {
  // A parsed policy parses again to itself: checking it again costs little and trusts no caller.
  const trust = parseTrustPolicy(policy);
  const receipt = parseReceipt(input);
  // the policy's attestation member judges the receipt's attestation, unless the caller gives one
  const verified = verifyReceipt(receipt, trust.log.key, {
    evidenceVerifier: verifyTeeEvidence,
    ...options,
    ...(options.attestationPolicy === undefined && trust.attestation !== undefined
      ? { attestationPolicy: trust.attestation }
      : {}),
  });
  let witnesses: WitnessQuorum;
  try {
    witnesses = checkWitnessQuorum(receipt.checkpoint, trust);
  } catch (cause) {
    const code = isChaosCoreError(cause) ? cause.code : "unknown";
    throw new ChaosCoreError(
      "RECEIPT_CHECKPOINT_INVALID",
      `the checkpoint's cosignatures cannot be read (${code})`,
      { cause },
    );
  }
  if (witnesses.verified < witnesses.required) {
    throw new ChaosCoreError(
      "RECEIPT_WITNESS_QUORUM",
      `the checkpoint is cosigned by ${witnesses.verified} of the ${witnesses.required} witnesses the policy requires`,
      {
        details: {
          required: witnesses.required,
          verified: witnesses.verified,
          cosignatures: witnesses.cosignatures,
        },
      },
    );
  }
  if (receipt.anchor !== null && !isTrustedAnchor(trust, receipt.anchor)) {
    throw new ChaosCoreError(
      "RECEIPT_ANCHOR_UNTRUSTED",
      `the anchor is on chain ${receipt.anchor.chainId} at ${receipt.anchor.contract}, which the policy does not trust`,
      { details: { chainId: receipt.anchor.chainId, contract: receipt.anchor.contract } },
    );
  }
  return { ...verified, witnesses };
}
