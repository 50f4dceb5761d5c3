/**
 * Status changes: the operator's (suspend, reactivate, revoke, with a
 * reason), the agent's own signed `RevokeAgent`, and the history of every
 * change with its proof.
 * @module
 */
import type { Hex } from "@chaoscore/core";
import type { AgentRecord, AgentStatus, AgentStatusChange, RevokeAgentRequest } from "./agent.js";
import { appendStatusChange, iso, lockAgent, orderMessage, readAgent } from "./agent-rows.js";
import {
  checkEnvelope,
  checkNonce,
  checkSigner,
  checkTransition,
  normalizeId,
  parseReason,
  parseRevoke,
  recoverSigner,
} from "./registry-checks.js";
import type { RegistryContext } from "./registry-context.js";

/** An operator's status change (suspend, reactivate, revoke) from one of `from` to `to`, with its reason. */
export async function changeStatusByOperator(
  ctx: RegistryContext,
  id: string,
  reason: string,
  from: readonly AgentStatus[],
  to: AgentStatus,
): Promise<AgentRecord> {
  const agent = normalizeId(id);
  const why = parseReason(reason);
  const at = ctx.now().toISOString();
  return ctx.db.transaction(async (tx) => {
    const current = await lockAgent(tx, agent);
    checkTransition(current, from, to);
    await tx.query("UPDATE agents SET status = $2, updated_at = $3::timestamptz WHERE id = $1", [
      agent,
      to,
      at,
    ]);
    await appendStatusChange(tx, agent, to, why, at, null);
    return readAgent(tx, agent);
  });
}

/** The agent's own signed revocation; see {@link AgentRegistryInterface.revoke}. */
export async function revokeAgent(
  ctx: RegistryContext,
  request: RevokeAgentRequest,
): Promise<AgentRecord> {
  const { chainId, message, signature } = parseRevoke(request);
  const now = ctx.now();
  const digest = checkEnvelope(ctx, "RevokeAgent", chainId, message, now);
  const signer = recoverSigner(digest, signature);
  const at = now.toISOString();
  return ctx.db.transaction(async (tx) => {
    const current = await lockAgent(tx, message.agent);
    checkSigner(current, signer, "RevokeAgent");
    checkTransition(current, ["active", "suspended"], "revoked");
    checkNonce(current, message.nonce);
    await tx.query(
      `UPDATE agents SET status = 'revoked', registry_nonce = $2::numeric,
         updated_at = $3::timestamptz
       WHERE id = $1`,
      [message.agent, message.nonce, at],
    );
    await appendStatusChange(tx, message.agent, "revoked", "revoked by the agent", at, {
      kind: "RevokeAgent",
      message,
      signature,
    });
    return readAgent(tx, message.agent);
  });
}

/** Every status change of the agent, with its proof. */
export async function statusHistory(
  ctx: RegistryContext,
  id: string,
): Promise<AgentStatusChange[]> {
  const agent = normalizeId(id);
  await readAgent(ctx.db, agent);
  const rows = await ctx.db.query<{
    seq: number;
    status: AgentStatus;
    reason: string | null;
    proof: { kind: "RegisterAgent" | "RevokeAgent"; message: unknown; signature: Hex } | null;
    created_at: unknown;
  }>(
    `SELECT seq, status, reason, proof, created_at FROM agent_status_changes
     WHERE agent_id = $1 ORDER BY seq`,
    [agent],
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    status: r.status,
    reason: r.reason,
    proof:
      r.proof === null
        ? null
        : {
            kind: r.proof.kind,
            message: orderMessage(r.proof.kind, r.proof.message),
            signature: r.proof.signature,
          },
    createdAt: iso(r.created_at),
  }));
}
