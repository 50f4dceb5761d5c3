/**
 * Registering an agent: a `RegisterAgent` message signed by the agent's own
 * key (proof that the registrant holds it) with its first card. It writes the
 * agent, card version 1, key 0 and status change 0 in one transaction.
 * @module
 */
import { fail, parseAgentCard } from "@chaoscore/core";
import type { AgentRecord, RegisterAgentRequest } from "./agent.js";
import { insertCardVersion, insertStatusChange, readAgent } from "./agent-rows.js";
import { checkCardHash, checkEnvelope, parseRegister, recoverSigner } from "./registry-checks.js";
import type { RegistryContext } from "./registry-context.js";

/** Registers an agent; see {@link AgentRegistryInterface.register}. */
export async function registerAgent(
  ctx: RegistryContext,
  request: RegisterAgentRequest,
): Promise<AgentRecord> {
  const { chainId, card: rawCard, message, signature } = parseRegister(request);
  const now = ctx.now();
  const digest = checkEnvelope(ctx, "RegisterAgent", chainId, message, now);
  const card = parseAgentCard(rawCard);
  const cardHash = checkCardHash(card, message.cardHash);
  const signer = recoverSigner(digest, signature);
  if (signer.address !== message.agent) {
    fail("AGENT_BAD_SIGNATURE", "RegisterAgent is not signed by the agent's key", {
      agent: message.agent,
      signer: signer.address,
    });
  }
  const at = now.toISOString();
  return ctx.db.transaction(async (tx) => {
    const inserted = await tx.query(
      `INSERT INTO agents (id, signer, public_key, status, card, card_hash, card_version, name,
         owner, capabilities, registry_nonce, action_nonce, created_at, updated_at)
       VALUES ($1, $1, $2, 'active', $3::jsonb, $4, 1, $5, $6, $7::text[], $8::numeric, NULL,
         $9::timestamptz, $9::timestamptz)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [
        message.agent,
        signer.publicKey,
        JSON.stringify(card),
        Buffer.from(cardHash.slice(2), "hex"),
        card.name,
        card.owner,
        card.capabilities,
        message.nonce,
        at,
      ],
    );
    if (inserted.length === 0) {
      fail("AGENT_ALREADY_REGISTERED", "an agent is already registered under this id", {
        id: message.agent,
      });
    }
    await insertCardVersion(tx, message.agent, 1, card, cardHash, message, signature, at);
    await tx.query(
      `INSERT INTO agent_keys (agent_id, seq, signer, public_key, rotation, created_at)
       VALUES ($1, 0, $1, $2, NULL, $3::timestamptz)`,
      [message.agent, signer.publicKey, at],
    );
    await insertStatusChange(tx, message.agent, 0, "active", "registered", at, {
      kind: "RegisterAgent",
      message,
      signature,
    });
    return readAgent(tx, message.agent);
  });
}
