/**
 * Keys: rotating an agent's signing key (`RotateAgentKey`, signed by the
 * current key, with a proof by the new one), the signed rotations that lead
 * to a key (what a receipt carries), and the agent's key history.
 * @module
 */
import { type Address, fail, type Hex, type KeyRotation } from "@chaoscore/core";
import type { AgentKey, AgentRecord, RotateAgentKeyRequest } from "./agent.js";
import { iso, lockAgent, orderMessage, readAgent } from "./agent-rows.js";
import {
  checkActive,
  checkEnvelope,
  checkNonce,
  checkSigner,
  normalizeId,
  parseAddress,
  parseRotate,
  recoverSigner,
} from "./registry-checks.js";
import type { RegistryContext } from "./registry-context.js";

/** Rotates the agent's signing key; see {@link AgentRegistryInterface.rotateKey}. */
export async function rotateAgentKey(
  ctx: RegistryContext,
  request: RotateAgentKeyRequest,
): Promise<AgentRecord> {
  const { chainId, message, signature, newKeyProof } = parseRotate(request);
  const now = ctx.now();
  const digest = checkEnvelope(ctx, "RotateAgentKey", chainId, message, now);
  const signer = recoverSigner(digest, signature);
  const newKey = recoverSigner(digest, newKeyProof, "AGENT_KEY_PROOF_INVALID");
  if (newKey.address !== message.newSigner) {
    fail("AGENT_KEY_PROOF_INVALID", "newKeyProof is not signed by the new key", {
      newSigner: message.newSigner,
      signer: newKey.address,
    });
  }
  const at = now.toISOString();
  return ctx.db.transaction(async (tx) => {
    const current = await lockAgent(tx, message.agent);
    checkSigner(current, signer, "RotateAgentKey");
    checkActive(current);
    checkNonce(current, message.nonce);
    const keys = await tx.query<{ seq: number; signer: string }>(
      "SELECT seq, signer FROM agent_keys WHERE agent_id = $1 ORDER BY seq",
      [message.agent],
    );
    if (keys.some((k) => k.signer === message.newSigner)) {
      fail("AGENT_KEY_REUSED", "the new key is, or was, a key of this agent", {
        newSigner: message.newSigner,
      });
    }
    const seq = keys.length;
    await tx.query(
      `INSERT INTO agent_keys (agent_id, seq, signer, public_key, rotation, created_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::timestamptz)`,
      [
        message.agent,
        seq,
        message.newSigner,
        newKey.publicKey,
        JSON.stringify({ message, signature, newKeyProof }),
        at,
      ],
    );
    await tx.query(
      `UPDATE agents SET signer = $2, public_key = $3, registry_nonce = $4::numeric,
         updated_at = $5::timestamptz
       WHERE id = $1`,
      [message.agent, message.newSigner, newKey.publicKey, message.nonce, at],
    );
    return readAgent(tx, message.agent);
  });
}

/** The signed rotations from the registration key to `upToSigner` (default: the current key). */
export async function keyRotations(
  ctx: RegistryContext,
  id: string,
  upToSigner?: string,
): Promise<KeyRotation[]> {
  const agent = normalizeId(id);
  await readAgent(ctx.db, agent);
  const rows = await ctx.db.query<{ seq: number; signer: string; rotation: unknown }>(
    "SELECT seq, signer, rotation FROM agent_keys WHERE agent_id = $1 ORDER BY seq",
    [agent],
  );
  let end = rows.length;
  if (upToSigner !== undefined) {
    const target = parseAddress(
      typeof upToSigner === "string" ? upToSigner.toLowerCase() : upToSigner,
    );
    end = rows.findIndex((r) => r.signer === target) + 1;
    if (end === 0) {
      fail("AGENT_SIGNER_UNKNOWN", "the address was never a signing key of this agent", {
        agent,
        signer: target,
      });
    }
  }
  return rows.slice(1, end).map((r) => {
    const rotation = r.rotation as { message: unknown; signature: Hex };
    return {
      message: orderMessage("RotateAgentKey", rotation.message),
      signature: rotation.signature,
    };
  });
}

/** Every key the agent has signed with, oldest first. */
export async function keyHistory(ctx: RegistryContext, id: string): Promise<AgentKey[]> {
  const agent = normalizeId(id);
  await readAgent(ctx.db, agent);
  const rows = await ctx.db.query<{
    seq: number;
    signer: string;
    public_key: string;
    created_at: unknown;
  }>(
    `SELECT seq, signer, public_key, created_at FROM agent_keys
     WHERE agent_id = $1 ORDER BY seq`,
    [agent],
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    signer: r.signer as Address,
    publicKey: r.public_key as Hex,
    createdAt: iso(r.created_at),
  }));
}
