import type { Address } from "@chaoscore/core";
import type { Db } from "@chaoscore/log";

/** An agent's ERC-721 token in an IdentityRegistry, as its card anchoring recorded it. */
export type AgentToken = { chainId: string; identityRegistry: Address; tokenId: string };

/**
 * The agent's IdentityRegistry token: the newest anchored card version that
 * has a token id (mined or final), on `chainId` when given. Null when the
 * agent's card was never anchored. Read-only.
 */
export async function findAgentToken(
  db: Db,
  agentId: string,
  chainId?: string,
): Promise<AgentToken | null> {
  const rows = await db.query<{ chain_id: string; contract: string; token_id: string }>(
    `SELECT chain_id, contract, token_id::text AS token_id FROM agent_anchors
     WHERE agent_id = $1 AND token_id IS NOT NULL AND status IN ('mined', 'final')
       AND ($2::text IS NULL OR chain_id = $2)
     ORDER BY card_version DESC, id DESC LIMIT 1`,
    [agentId.toLowerCase(), chainId ?? null],
  );
  const row = rows[0];
  return row === undefined
    ? null
    : {
        chainId: row.chain_id,
        identityRegistry: row.contract.toLowerCase() as Address,
        tokenId: row.token_id,
      };
}
