/**
 * The task orchestrator's checks, made before anything is written: the
 * signed transition's shape, studio, signer and roles; the signature and
 * nonce (as the log will check them); the attestation a studio requires; an
 * evaluator's outcome; a reward against the policy and budget.
 * @module
 */
import {
  type ActionEntry,
  type Address,
  type AttestationQuote,
  attestationHash,
  ChaosCoreError,
  computeReportData,
  entryId,
  entrySigner,
  fail,
  type Hex,
  hashExecutionInput,
  hashExecutionOutput,
  type OutcomeEntry,
  parseEntry,
  parseQuote,
  privateKeyToAddress,
  ZERO_HASH,
} from "@chaoscore/core";
import type { AgentRegistry } from "@chaoscore/log";
import {
  parseTaskPayload,
  type SignedTransition,
  type Studio,
  type StudioActor,
  TASK_TRANSITIONS,
  type Task,
  type TaskPayloads,
  type TaskTransition,
} from "./model.js";
import { assertStudioPayload, parseStudioAction } from "./signed-entry.js";
import type { Prepared, TaskContext } from "./task-context.js";

/** An evaluator's signed outcome on the task's submit action (optional on evaluate). */
export type SignedOutcome = { entry: unknown; metrics: unknown };

/** Parses and checks what every transition shares; reads the signer's roles. */
export async function prepareTransition(
  ctx: Pick<TaskContext, "registry" | "studios">,
  studioId: string,
  signed: SignedTransition,
  expected: TaskTransition | null,
): Promise<Prepared> {
  const studio = await ctx.studios.get(studioId);
  if (studio.status !== "active") fail("STUDIO_ARCHIVED", `studio ${studioId} is archived`);
  if (typeof signed !== "object" || signed === null) {
    fail("STUDIO_ENTRY_INVALID", "a transition is { entry, payload, attestation? }");
  }
  const entry = parseStudioAction(signed.entry);
  const m = entry.message;
  if (m.studio !== studioId) {
    fail("STUDIO_ENTRY_INVALID", `the entry is signed for studio "${m.studio}"`, {
      studio: m.studio,
    });
  }
  const transition = m.actionType.startsWith("studio.task.")
    ? (m.actionType.slice("studio.task.".length) as TaskTransition)
    : null;
  if (transition === null || !Object.hasOwn(TASK_TRANSITIONS, transition)) {
    fail("STUDIO_ENTRY_INVALID", `${m.actionType} is not a task transition`, {
      actionType: m.actionType,
    });
  }
  if (expected !== null && transition !== expected) {
    fail("STUDIO_ENTRY_INVALID", `expected studio.task.${expected}, got ${m.actionType}`, {
      actionType: m.actionType,
    });
  }
  assertStudioPayload(signed.payload, m.payloadHash);
  const payload = parseTaskPayload[transition](signed.payload);
  const agent = m.agent;
  const record = await ctx.registry.get(agent);
  if (record.identity.status !== "active") {
    fail("AGENT_NOT_ACTIVE", `agent ${agent} is ${record.identity.status}`, { agent });
  }
  const roles = await ctx.studios.rolesOf(studioId, agent);
  if (roles === null) {
    fail("STUDIO_NOT_MEMBER", `${agent} is not a member of ${studioId}`, { agent });
  }
  return { studio, entry, id: entryId(entry), transition, agent, roles, payload };
}

/** The signer has a role allowed to make the transition, or is the task's assignee. */
export function assertSigner(p: Prepared, task: Task | null): void {
  const signers = TASK_TRANSITIONS[p.transition].signers as readonly string[];
  const byRole = p.roles.some((r) => signers.includes(r));
  const asAssignee = signers.includes("assignee") && task?.assignee === p.agent;
  if (!byRole && !asAssignee) {
    fail(
      "STUDIO_ROLE_FORBIDDEN",
      `${p.transition} is signed by: ${signers.join(", ")}; ${p.agent} has roles ${p.roles.join(", ")}`,
      { agent: p.agent, roles: p.roles, transition: p.transition },
    );
  }
}

/**
 * The signature is by the agent's current key and the nonce is fresh (also
 * checked by the log; checked first so that a payout is never made for a
 * transition the log would refuse).
 */
export function preverify(
  ctx: Pick<TaskContext, "registry">,
  prepared: readonly Prepared[],
): Promise<void> {
  return preverifyActions(
    ctx.registry,
    prepared.map((p) => p.entry),
  );
}

/**
 * The studio rule "attestation required": the submission carries a quote
 * (the action's attestation) with an allowed measurement, whose report data
 * binds the run's input (the task's input), output (the result) and nonce.
 * The quote's certificate chain is verified by the log (trusted roots).
 */
export function assertAttestation(
  p: Prepared,
  task: Task,
  payload: TaskPayloads["submit"],
  attestation: unknown,
): void {
  if (!p.studio.rules.attestationRequired) return;
  const refuse = (reason: string, details: Record<string, unknown> = {}) =>
    new ChaosCoreError(
      "STUDIO_ATTESTATION_REQUIRED",
      `studio ${p.studio.id} requires attestation: ${reason}`,
      { details: { task: task.id, reason, ...details } },
    );
  if (p.entry.message.attestationHash === ZERO_HASH || attestation == null) {
    throw refuse("the submission carries no attestation");
  }
  let quote: AttestationQuote;
  try {
    quote = parseQuote(attestation);
  } catch {
    throw refuse("the attestation is not a chaoscore.attestation/v1 quote");
  }
  if (attestationHash(quote) !== p.entry.message.attestationHash) {
    throw refuse("the quote does not hash to the signed attestationHash");
  }
  const allowed = p.studio.rules.allowedMeasurements;
  if (allowed !== undefined && !allowed.includes(quote.measurement)) {
    throw refuse("the quote's measurement is not allowed", { measurement: quote.measurement });
  }
  const ex = payload.execution;
  if (ex === undefined) throw refuse("the payload has no execution (input/output hashes)");
  if (hashExecutionOutput(payload.result) !== ex.outputHash) {
    throw refuse("the result is not the attested run's output");
  }
  if (
    task.input !== null &&
    hashExecutionInput({ input: task.input, seed: ex.seed, clock: ex.clock }) !== ex.inputHash
  ) {
    throw refuse("the attested run's input is not the task's input");
  }
  if (
    quote.nonce !== ex.nonce ||
    computeReportData(ex.inputHash, ex.outputHash, ex.nonce as Hex) !== quote.reportData
  ) {
    throw refuse("the quote's report data does not bind this input, output and nonce");
  }
}

/** Checks an evaluator's outcome: on the task's submit action, by the transition's signer, with the verdict as status. */
export function checkOutcome(
  signed: SignedOutcome,
  task: Task,
  p: Prepared,
  verdict: string,
): { entry: OutcomeEntry; metrics: unknown; id: Hex } {
  let entry: OutcomeEntry;
  try {
    const parsed = parseEntry(signed.entry);
    if (parsed.kind !== "outcome") throw new Error("not an outcome");
    entry = parsed;
  } catch (error) {
    throw new ChaosCoreError("STUDIO_ENTRY_INVALID", "the outcome is not a signed outcome", {
      cause: error,
    });
  }
  if (entry.message.action !== task.submitAction) {
    fail("STUDIO_ENTRY_INVALID", "the outcome must refer to the task's submit action", {
      action: entry.message.action,
      submitAction: task.submitAction,
    });
  }
  if (entry.message.agent !== p.agent) {
    fail("STUDIO_ENTRY_INVALID", "the outcome must be signed by the evaluator of the transition");
  }
  if (entry.message.status !== verdict) {
    fail("STUDIO_ENTRY_INVALID", `the outcome's status is not the verdict ${verdict}`);
  }
  return { entry, metrics: signed.metrics, id: entryId(entry) };
}

/** Checks a reward against the studio's policy and remaining budget. */
export function assertReward(
  ctx: Pick<TaskContext, "rewards">,
  studio: Studio,
  task: Task,
  amount: bigint,
): void {
  if (ctx.rewards === undefined) {
    fail("STUDIO_REWARD_INVALID", "no reward port is configured: rewards cannot be paid");
  }
  if (task.verdict !== "success" || task.assignee === null) {
    fail("STUDIO_REWARD_INVALID", `only successful tasks are rewarded (verdict ${task.verdict})`, {
      task: task.id,
      verdict: task.verdict,
    });
  }
  if (amount <= 0n) fail("STUDIO_REWARD_INVALID", "a reward is a positive amount");
  const policy = studio.rewardPolicy;
  if (policy.kind === "fixed") {
    const due = BigInt(policy.perRole?.[task.role] ?? policy.amountPerSuccess);
    if (amount !== due) {
      fail("STUDIO_REWARD_INVALID", `the fixed policy pays ${due} for a ${task.role} task`, {
        amount: amount.toString(),
        due: due.toString(),
      });
    }
  } else if (amount > BigInt(policy.pool)) {
    fail("STUDIO_REWARD_INVALID", `a share is at most the pool ${policy.pool}`, {
      amount: amount.toString(),
      pool: policy.pool,
    });
  }
  const remaining = BigInt(policy.budget) - BigInt(studio.spent);
  if (amount > remaining) {
    fail(
      "STUDIO_BUDGET_EXCEEDED",
      `the reward ${amount} exceeds the remaining budget ${remaining}`,
      {
        amount: amount.toString(),
        remaining: remaining.toString(),
      },
    );
  }
}

/**
 * Checks that each action is signed by its agent's current key and that the
 * nonces are fresh (and increasing within `entries`), as the log will. The
 * studio checks this before any write or payout, so that a transition the log
 * would refuse changes nothing.
 * @throws ChaosCoreError AGENT_NOT_FOUND, AGENCY_BAD_SIGNATURE, AGENCY_NONCE_NOT_INCREASING.
 */
export async function preverifyActions(
  registry: Pick<AgentRegistry, "signingState">,
  entries: readonly ActionEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  const agents = [...new Set(entries.map((e) => e.message.agent))];
  const states = await registry.signingState(agents);
  const last = new Map<string, bigint | null>();
  for (const entry of entries) {
    const agent = entry.message.agent;
    const state = states.get(agent);
    if (state === undefined) fail("AGENT_NOT_FOUND", `agent ${agent} is not registered`);
    let signer: Address;
    try {
      signer = entrySigner(entry);
    } catch (error) {
      throw new ChaosCoreError("AGENCY_BAD_SIGNATURE", "the signature does not recover", {
        cause: error,
      });
    }
    if (signer !== state.signer) {
      fail("AGENCY_BAD_SIGNATURE", "the signature is not by the agent's registered key", {
        agent,
        signer,
      });
    }
    const prev = last.has(agent) ? (last.get(agent) ?? null) : state.actionNonce;
    const nonce = BigInt(entry.message.nonce);
    if (prev !== null && nonce <= prev) {
      fail("AGENCY_NONCE_NOT_INCREASING", `nonce ${nonce} is not larger than ${prev}`, {
        nonce: nonce.toString(),
        last: prev.toString(),
      });
    }
    last.set(agent, nonce);
  }
}

/** The address of an actor's key (or its agent id). */
export function signerAddress(actor: StudioActor): Address {
  if (actor.agent !== undefined) return actor.agent;
  return privateKeyToAddress(actor.privateKey);
}
