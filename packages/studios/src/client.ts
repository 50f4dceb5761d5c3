import {
  type ActionEntry,
  type AttestationQuote,
  type Hex,
  type OutcomeEntry,
  type StudioSignBase,
  signStudioEvaluation,
  signStudioGovernance,
  signStudioTransition,
} from "@chaoscore/core";
import type { Proposal, Tally, VoteChoice } from "./dao.js";
import type { TaskPayloads, TaskTransition } from "./model.js";

/**
 * Client helpers: the signing an agent (or operator, or evaluator) does on
 * its own side, with core's `signAction` / `signOutcome`. The key never
 * leaves the caller.
 */

/** What every signed studio action needs (key, chain, nonce, optional agent id and times). */
type SignBase = StudioSignBase;

/** Inputs of {@link signTaskTransition}. */
export type SignTaskTransitionInput<T extends TaskTransition> = SignBase & {
  studio: string;
  task: string;
  transition: T;
  payload: TaskPayloads[T];
  /** The task's last action (`Task.lastAction`); omit (or null) for `create`. */
  previous?: Hex | null;
  /** The execution attestation of a submission: its hash is signed, the quote is sent along. */
  attestation?: AttestationQuote;
};

/**
 * Builds and signs a task transition: the action `studio.task.<transition>`
 * with the studio and task ids, the payload's hash and the previous
 * transition as its parent.
 * @returns what `TaskOrchestrator.<transition>` takes: `{ entry, payload, attestation? }`.
 * @example
 * ```ts
 * const signed = signTaskTransition({ privateKey, chainId: 31337n, nonce: 7, studio: "gov",
 *   task: "p1/analysis", transition: "start", payload: {}, previous: task.lastAction });
 * await tasks.start("gov", signed);
 * ```
 */
export function signTaskTransition<T extends TaskTransition>(
  input: SignTaskTransitionInput<T>,
): { entry: ActionEntry; payload: TaskPayloads[T]; attestation?: AttestationQuote } {
  return signStudioTransition(input);
}

/** The governance actions and their payloads. */
export type GovernancePayloads = {
  /** By the operator: opens a proposal for analysis and votes. */
  propose: { proposal: Proposal; votingEndsAt: number };
  /** By a voter. */
  vote: { proposal: string; choice: VoteChoice; reason: string };
  /** By the operator: the tally the studio computes (`GovernanceStudio.computeTally`). */
  tally: { proposal: string } & Tally;
  /** By the operator: the DAO before and after executing a passed proposal. */
  execute: { proposal: string; before: unknown; after: unknown };
};
export type GovernanceAction = keyof GovernancePayloads;

/** The action type of a governance step: `governance.<action>`. */
export const governanceActionType = (a: GovernanceAction): string => `governance.${a}`;

/**
 * Builds and signs a governance action (`governance.propose`, `.vote`,
 * `.tally`, `.execute`): studio = the studio id, task = the proposal id,
 * parents = the proposal's action it follows (none for propose).
 * @example
 * ```ts
 * const vote = signGovernanceAction({ privateKey, chainId, nonce, studio: "gov", action: "vote",
 *   payload: { proposal: "p1", choice: "for", reason: "runway stays above 12 months" },
 *   previous: proposal.proposeAction });
 * ```
 */
export function signGovernanceAction<A extends GovernanceAction>(
  input: SignBase & {
    studio: string;
    action: A;
    payload: GovernancePayloads[A];
    previous?: Hex | null;
  },
): { entry: ActionEntry; payload: GovernancePayloads[A] } {
  return signStudioGovernance(input);
}

/**
 * Signs an evaluator's outcome on an action (e.g. a task's submit action).
 * @example signEvaluation({ privateKey, chainId, nonce, action: task.submitAction, status: "success", metrics })
 */
export function signEvaluation(
  input: SignBase & {
    action: Hex;
    status: "success" | "failure" | "partial";
    metrics: Record<string, unknown>;
    result?: unknown;
  },
): { entry: OutcomeEntry; metrics: Record<string, unknown> } {
  return signStudioEvaluation(input);
}
