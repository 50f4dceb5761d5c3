import { type Hex, signAction } from "@chaoscore/core";
import type { ProofOfAgency, RecordResult } from "@chaoscore/log";
import type { ReputationEpoch } from "./reputation-types.js";

/** The action type of a committed reputation epoch. */
export const REPUTATION_EPOCH_ACTION_TYPE = "reputation.epoch";

/** The payload of a `reputation.epoch` action. */
export type ReputationEpochPayload = {
  epoch: number;
  /** RFC 9162 root of the epoch's score leaves (see docs/reputation.md). */
  root: Hex;
  /** The number of score leaves: a score proof must be checked against it too. */
  size: number;
  asOf: string;
};

/**
 * Commits an epoch's score root to the Proof of Agency log, as an action
 * signed by the studio operator (a registered agent). Anchoring the log's
 * checkpoint then anchors the epoch on chain: a score proof (`proveScore`)
 * leads to this root, the action's receipt proves the root was logged, and
 * the receipt's anchor ties it to the chain — one anchor for actions and
 * scores alike, instead of a second on-chain history per epoch.
 *
 * @example
 * const epoch = await reputation.runEpoch();
 * await logReputationEpoch(engine.agency, { privateKey, nonce }, epoch);
 * @throws the errors of `ProofOfAgency.recordAction`.
 */
export function logReputationEpoch(
  agency: ProofOfAgency,
  operator: { privateKey: Uint8Array; nonce: bigint | number },
  epoch: ReputationEpoch,
): Promise<RecordResult> {
  const payload: ReputationEpochPayload = {
    epoch: epoch.epoch,
    root: epoch.root,
    size: epoch.size,
    asOf: epoch.asOf,
  };
  const { entry } = signAction({
    privateKey: operator.privateKey,
    chainId: agency.chainId,
    verifyingContract: agency.verifyingContract,
    actionType: REPUTATION_EPOCH_ACTION_TYPE,
    task: `epoch-${epoch.epoch}`,
    nonce: operator.nonce,
    payload,
  });
  return agency.recordAction({ entry, payload });
}
