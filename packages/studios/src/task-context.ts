/**
 * What the task orchestrator's parts share: its dependencies (a
 * {@link TaskContext}), a transition prepared for checking, and the task
 * states and patterns they test.
 * @module
 */
import type { ActionEntry, Address, Hex } from "@chaoscore/core";
import type { AgentRegistry, Db, ProofOfAgency } from "@chaoscore/log";
import {
  type ReputationPort,
  type RewardPort,
  type Studio,
  TASK_ID_PATTERN,
  TASK_TRANSITIONS,
  type TaskState,
  type TaskTransition,
} from "./model.js";
import type { StudioManager } from "./studio-manager.js";

/** The orchestrator's dependencies, passed to each of its parts. */
export type TaskContext = {
  db: Db;
  agency: Pick<
    ProofOfAgency,
    "recordAction" | "recordOutcome" | "recordInTransaction" | "chainId" | "verifyingContract"
  >;
  registry: Pick<AgentRegistry, "get" | "signingState">;
  studios: StudioManager;
  reputation: ReputationPort | undefined;
  rewards: RewardPort | undefined;
  now: () => Date;
};

/** A signed transition, parsed, with its studio and its signer's roles. */
export type Prepared = {
  studio: Studio;
  entry: ActionEntry;
  id: Hex;
  transition: TaskTransition;
  agent: Address;
  roles: string[];
  payload: unknown;
};

export const TASK_RE = new RegExp(TASK_ID_PATTERN);
/** The states a deadline applies to (open, assigned, running). */
export const ACTIVE_STATES: readonly TaskState[] = TASK_TRANSITIONS.expire.from;

/** Now, in unix seconds, on the context's clock. */
export function nowSeconds(ctx: Pick<TaskContext, "now">): number {
  return Math.floor(ctx.now().getTime() / 1000);
}
