/**
 * Proof of control: a one-time challenge for an agent, answered by a
 * `ProveAgentControl` message signed with its current key.
 * @module
 */
import { randomBytes } from "node:crypto";
import { bytesToHex, fail } from "@chaoscore/core";
import type { AgentChallenge, AgentControlProof, ProveAgentControlRequest } from "./agent.js";
import { lockAgent } from "./agent-rows.js";
import {
  checkEnvelope,
  checkSigner,
  normalizeId,
  parseProve,
  recoverSigner,
} from "./registry-checks.js";
import type { RegistryContext } from "./registry-context.js";

const DEFAULT_CHALLENGE_TTL = 300;
const MAX_CHALLENGE_TTL = 86_400;

/** A one-time challenge for agent `id`, valid `ttlSeconds`; see {@link AgentRegistryInterface.createChallenge}. */
export async function createChallenge(
  ctx: RegistryContext,
  id: string,
  ttlSeconds = DEFAULT_CHALLENGE_TTL,
): Promise<AgentChallenge> {
  const agent = normalizeId(id);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_CHALLENGE_TTL) {
    fail("AGENT_REQUEST_MALFORMED", `ttlSeconds must be an integer in 1..${MAX_CHALLENGE_TTL}`, {
      ttlSeconds: String(ttlSeconds),
    });
  }
  const now = ctx.now();
  const challenge = bytesToHex(randomBytes(32));
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
  return ctx.db.transaction(async (tx) => {
    const current = await lockAgent(tx, agent, "FOR SHARE");
    if (current.status === "revoked") {
      fail("AGENT_NOT_ACTIVE", "the agent is revoked", { id: agent, status: current.status });
    }
    // Expired or answered challenges of this agent are dead: an unknown challenge is refused too.
    await tx.query(
      `DELETE FROM agent_challenges
       WHERE agent_id = $1 AND (expires_at <= $2::timestamptz OR answered_at IS NOT NULL)`,
      [agent, now.toISOString()],
    );
    await tx.query(
      `INSERT INTO agent_challenges (challenge, agent_id, expires_at, answered_at)
       VALUES ($1, $2, $3::timestamptz, NULL)`,
      [challenge, agent, expiresAt],
    );
    return { challenge, expiresAt };
  });
}

/** Answers a challenge with a signed `ProveAgentControl`; see {@link AgentRegistryInterface.verify}. */
export async function proveControl(
  ctx: RegistryContext,
  request: ProveAgentControlRequest,
): Promise<AgentControlProof> {
  const { chainId, message, signature } = parseProve(request);
  const now = ctx.now();
  const digest = checkEnvelope(ctx, "ProveAgentControl", chainId, message, now);
  const signer = recoverSigner(digest, signature);
  const at = now.toISOString();
  return ctx.db.transaction(async (tx) => {
    const current = await lockAgent(tx, message.agent, "FOR SHARE");
    checkSigner(current, signer, "ProveAgentControl");
    if (current.status === "revoked") {
      fail("AGENT_NOT_ACTIVE", "the agent is revoked", { id: current.id, status: "revoked" });
    }
    const answered = await tx.query(
      `UPDATE agent_challenges SET answered_at = $3::timestamptz
       WHERE challenge = $1 AND agent_id = $2 AND answered_at IS NULL
         AND expires_at > $3::timestamptz
       RETURNING challenge`,
      [message.nonce, message.agent, at],
    );
    if (answered.length === 0) {
      fail("AGENT_CHALLENGE_INVALID", "the challenge is unknown, expired or already answered", {
        agent: message.agent,
        challenge: message.nonce,
      });
    }
    return {
      agent: message.agent,
      signer: signer.address,
      status: current.status,
      verifiedAt: at,
    };
  });
}
