/**
 * Signing of studio steps on the signer's side (agent, operator, evaluator):
 * task transitions (`studio.task.<transition>`), governance actions
 * (`governance.<action>`) and evaluations (outcomes). The key never leaves the
 * caller. The engine's studio component checks what these produce; its
 * `studio/client.ts` adds the payload types.
 * @module
 */

import type { AttestationQuote } from "./attestation.js";
import { attestationHash } from "./attestation.js";
import { signAction, signOutcome } from "./client-signing.js";
import type { Address, Hex } from "./hex.js";
import type { ActionEntry, OutcomeEntry } from "./schemas.js";

/** What every signed studio step needs. */
export type StudioSignBase = {
  privateKey: Uint8Array;
  chainId: bigint | number;
  /** The deployment signed for (see `DeploymentInput`); default the development one. */
  verifyingContract?: Address;
  nonce: bigint | number;
  /** The agent id, when the key is a rotated key. */
  agent?: Address;
  /** Unix seconds; default now. */
  timestamp?: bigint | number;
  ttlSeconds?: number;
};

function base(input: StudioSignBase) {
  return {
    privateKey: input.privateKey,
    chainId: input.chainId,
    ...(input.verifyingContract === undefined
      ? {}
      : { verifyingContract: input.verifyingContract }),
    nonce: input.nonce,
    ...(input.agent === undefined ? {} : { agent: input.agent }),
    ...(input.timestamp === undefined ? {} : { timestamp: input.timestamp }),
    ...(input.ttlSeconds === undefined ? {} : { ttlSeconds: input.ttlSeconds }),
  };
}

/**
 * Signs a task transition: the action `studio.task.<transition>` with the
 * studio and task ids, the payload's hash and the previous transition as its
 * parent (none for `create`); a submission's attestation hash is signed and
 * the quote sent along.
 * @returns `{ entry, payload, attestation? }` — the body of a transition.
 */
export function signStudioTransition<P>(
  input: StudioSignBase & {
    studio: string;
    task: string;
    transition: string;
    payload: P;
    previous?: Hex | null;
    attestation?: AttestationQuote;
  },
): { entry: ActionEntry; payload: P; attestation?: AttestationQuote } {
  const { entry } = signAction({
    ...base(input),
    actionType: `studio.task.${input.transition}`,
    studio: input.studio,
    task: input.task,
    payload: input.payload,
    parents: input.previous == null ? [] : [input.previous],
    ...(input.attestation === undefined
      ? {}
      : { attestationHash: attestationHash(input.attestation) }),
  });
  return input.attestation === undefined
    ? { entry, payload: input.payload }
    : { entry, payload: input.payload, attestation: input.attestation };
}

/**
 * Signs a governance step (`governance.propose`, `.vote`, `.tally`,
 * `.execute`): studio = the studio id, task = the proposal id (the payload's
 * `proposal`, or `proposal.id` for propose), parents = the proposal's action
 * it follows (none for propose).
 */
export function signStudioGovernance<P extends { proposal: string | { id: string } }>(
  input: StudioSignBase & { studio: string; action: string; payload: P; previous?: Hex | null },
): { entry: ActionEntry; payload: P } {
  const p = input.payload.proposal;
  const { entry } = signAction({
    ...base(input),
    actionType: `governance.${input.action}`,
    studio: input.studio,
    task: typeof p === "string" ? p : p.id,
    payload: input.payload,
    parents: input.previous == null ? [] : [input.previous],
  });
  return { entry, payload: input.payload };
}

/** Signs an evaluator's outcome on an action (e.g. a task's submit action). */
export function signStudioEvaluation(
  input: StudioSignBase & {
    action: Hex;
    status: "success" | "failure" | "partial";
    metrics: Record<string, unknown>;
    result?: unknown;
  },
): { entry: OutcomeEntry; metrics: Record<string, unknown> } {
  return signOutcome({
    ...base(input),
    action: input.action,
    status: input.status,
    metrics: input.metrics,
    ...(input.result === undefined ? {} : { result: input.result }),
  });
}
