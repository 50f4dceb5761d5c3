/**
 * The writer's checks of one entry, inside its transaction against the
 * agents' locked state: signature by the agent's current key, an active
 * agent, time, an increasing nonce within {@link MAX_NONCE_GAP}, recorded
 * parents, and who may judge the action of an outcome.
 * @module
 */
import { type Address, ChaosCoreError, type Hex, type LogEntry } from "@chaoscore/core";
import type { AgencyContext, PendingEntry, SigningState } from "./agency-context.js";
import { checkOutcomeAuthority, type JudgedAction } from "./outcome-authorization.js";

/**
 * The largest step between an agent's last accepted nonce and the next one
 * (`AGENCY_NONCE_GAP_TOO_LARGE` above it): gaps stay allowed (lost or
 * abandoned entries), but no entry can push the counter out of reach.
 */
export const MAX_NONCE_GAP = 1000n;

/**
 * Expiry and clock skew, checked at write time after the duplicate check,
 * so that the retry of an accepted entry returns its first record even
 * when the signature has since expired.
 */
export function checkTime(ctx: AgencyContext, entry: LogEntry): ChaosCoreError | null {
  const now = BigInt(Math.floor(ctx.now().getTime() / 1000));
  if (BigInt(entry.message.expiry) <= now) {
    return new ChaosCoreError("AGENCY_EXPIRED", "the message has expired", {
      details: { expiry: entry.message.expiry },
    });
  }
  const ts = BigInt(entry.message.timestamp);
  const skew = BigInt(ctx.clockSkewSeconds);
  if (ts > now + skew || ts < now - skew) {
    return new ChaosCoreError(
      "AGENCY_CLOCK_SKEW",
      `timestamp is more than ${ctx.clockSkewSeconds}s from the server clock`,
      { details: { timestamp: entry.message.timestamp, now: now.toString() } },
    );
  }
  return null;
}

/**
 * Whether `p` may already be recorded, judged by its agent's locked state
 * alone: every stored entry's nonce is at most its agent's last accepted
 * nonce (`agents.action_nonce`, moved in the transaction that stores the
 * entries, entry-rows.ts, and never down), and an entry's id — its EIP-712
 * digest — fixes its agent and nonce. So an entry above that nonce, or of
 * an agent without one, is new, and the writer looks up only the others
 * (resends, replays, unknown agents) in its duplicate check.
 */
export function mayBeRecorded(p: PendingEntry, state: Map<string, SigningState>): boolean {
  const agent = state.get(p.agent);
  if (agent === undefined) return true;
  return agent.actionNonce !== null && p.nonce <= agent.actionNonce;
}

/**
 * Checks one entry against the agent's state, updating `state` and `known`
 * on success (so later entries of the same batch see it).
 * @returns the refusal, or null when the entry is accepted.
 */
export function checkEntry(
  ctx: AgencyContext,
  p: PendingEntry,
  signer: Address | ChaosCoreError,
  state: Map<string, SigningState>,
  known: Map<Hex, JudgedAction>,
  judges: Map<string, Set<string>>,
): ChaosCoreError | null {
  if (signer instanceof ChaosCoreError) return signer;
  const late = checkTime(ctx, p.entry);
  if (late !== null) return late;
  const agent = state.get(p.agent);
  if (agent === undefined) {
    return new ChaosCoreError("AGENT_NOT_FOUND", `agent ${p.agent} is not registered`);
  }
  if (agent.status !== "active") {
    return new ChaosCoreError("AGENT_NOT_ACTIVE", `agent ${p.agent} is ${agent.status}`);
  }
  if (signer !== agent.signer) {
    return new ChaosCoreError(
      "AGENCY_BAD_SIGNATURE",
      "signature is not by the agent's registered key",
      { details: { agent: p.agent, signer } },
    );
  }
  if (agent.actionNonce !== null && p.nonce <= agent.actionNonce) {
    return new ChaosCoreError(
      "AGENCY_NONCE_NOT_INCREASING",
      `nonce ${p.nonce} is not larger than the last accepted nonce ${agent.actionNonce}`,
      { details: { nonce: p.nonce.toString(), last: agent.actionNonce.toString() } },
    );
  }
  // A bounded jump (issue 19 item 12): one entry with nonce 2^64 − 1 would stop the agent for ever.
  const last = agent.actionNonce ?? 0n;
  if (p.nonce - last > MAX_NONCE_GAP) {
    return new ChaosCoreError(
      "AGENCY_NONCE_GAP_TOO_LARGE",
      `nonce ${p.nonce} is more than ${MAX_NONCE_GAP} above the last accepted nonce ${last}`,
      {
        details: {
          nonce: p.nonce.toString(),
          last: last.toString(),
          maxGap: MAX_NONCE_GAP.toString(),
        },
      },
    );
  }
  if (p.entry.kind === "action") {
    const missing = p.entry.message.parents.find((parent) => !known.has(parent));
    if (missing !== undefined) {
      return new ChaosCoreError("AGENCY_PARENT_NOT_FOUND", `parent ${missing} is not recorded`);
    }
    known.set(p.id, { agent: p.agent, studio: p.entry.message.studio, evaluators: new Set() });
  } else {
    const action = p.entry.message.action;
    const judged = known.get(action);
    if (judged === undefined) {
      return new ChaosCoreError("AGENCY_ACTION_NOT_FOUND", `action ${action} is not recorded`);
    }
    const refusal = checkOutcomeAuthority(p.agent, action, judged, judges, ctx.outcomePolicy);
    if (refusal !== null) return refusal;
    judged.evaluators.add(p.agent);
  }
  agent.actionNonce = p.nonce;
  return null;
}
