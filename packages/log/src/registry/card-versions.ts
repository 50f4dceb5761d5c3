/**
 * Card versions: an agent's signed card updates (`UpdateAgentCard`, version
 * n + 1 of the current one) and the history of every card it has had.
 * @module
 */
import { fail, type Hex, parseAgentCard } from "@chaoscore/core";
import type { AgentCardVersion, AgentRecord, UpdateAgentCardRequest } from "./agent.js";
import {
  hexOf,
  insertCardVersion,
  iso,
  lockAgent,
  orderCard,
  orderMessage,
  readAgent,
} from "./agent-rows.js";
import {
  checkActive,
  checkCardHash,
  checkEnvelope,
  checkNonce,
  checkSigner,
  normalizeId,
  parseUpdate,
  recoverSigner,
} from "./registry-checks.js";
import type { RegistryContext } from "./registry-context.js";

/** Replaces the agent's card by a signed `UpdateAgentCard`; see {@link AgentRegistryInterface.updateCard}. */
export async function updateAgentCard(
  ctx: RegistryContext,
  request: UpdateAgentCardRequest,
): Promise<AgentRecord> {
  const { chainId, card: rawCard, message, signature } = parseUpdate(request);
  const now = ctx.now();
  const digest = checkEnvelope(ctx, "UpdateAgentCard", chainId, message, now);
  const card = parseAgentCard(rawCard);
  const cardHash = checkCardHash(card, message.cardHash);
  const signer = recoverSigner(digest, signature);
  const at = now.toISOString();
  return ctx.db.transaction(async (tx) => {
    const current = await lockAgent(tx, message.agent);
    checkSigner(current, signer, "UpdateAgentCard");
    checkActive(current);
    checkNonce(current, message.nonce);
    const expected = BigInt(current.card_version) + 1n;
    if (BigInt(message.version) !== expected) {
      fail("AGENT_VERSION_INVALID", `UpdateAgentCard.version must be ${expected}`, {
        expected: expected.toString(),
        got: message.version,
      });
    }
    const version = Number(expected);
    await tx.query(
      `UPDATE agents SET card = $2::jsonb, card_hash = $3, card_version = $4, name = $5,
         owner = $6, capabilities = $7::text[], registry_nonce = $8::numeric,
         updated_at = $9::timestamptz
       WHERE id = $1`,
      [
        message.agent,
        JSON.stringify(card),
        Buffer.from(cardHash.slice(2), "hex"),
        version,
        card.name,
        card.owner,
        card.capabilities,
        message.nonce,
        at,
      ],
    );
    await insertCardVersion(tx, message.agent, version, card, cardHash, message, signature, at);
    return readAgent(tx, message.agent);
  });
}

/** Every card of the agent, oldest first, with the message that signed it. */
export async function cardHistory(ctx: RegistryContext, id: string): Promise<AgentCardVersion[]> {
  const agent = normalizeId(id);
  await readAgent(ctx.db, agent);
  const rows = await ctx.db.query<{
    version: number;
    card: unknown;
    card_hash: Uint8Array;
    message: unknown;
    signature: string;
    created_at: unknown;
  }>(
    `SELECT version, card, card_hash, message, signature, created_at
     FROM agent_card_versions WHERE agent_id = $1 ORDER BY version`,
    [agent],
  );
  return rows.map((r): AgentCardVersion => {
    const common = {
      version: Number(r.version),
      card: orderCard(r.card),
      cardHash: hexOf(r.card_hash),
      signature: r.signature as Hex,
      createdAt: iso(r.created_at),
    };
    return Number(r.version) === 1
      ? { ...common, kind: "RegisterAgent", message: orderMessage("RegisterAgent", r.message) }
      : {
          ...common,
          kind: "UpdateAgentCard",
          message: orderMessage("UpdateAgentCard", r.message),
        };
  });
}
