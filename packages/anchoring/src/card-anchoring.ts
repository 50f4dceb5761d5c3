/**
 * Agent card anchoring: registers each agent's card hash in the
 * IdentityRegistry (ERC-8004), or updates it when the card changed, and
 * follows those transactions like checkpoint anchors. A card the registry
 * already holds is recorded, not sent; a registration is found again by its URI.
 *
 * @module
 */
import type { IdentityRegistryContract } from "@chaoscore/chain";
import { type Hex, isChaosCoreError } from "@chaoscore/core";
import { findSentCard, type SentCardState } from "./agent-card-recovery.js";
import { receiptState } from "./anchor-reconcile.js";
import {
  AGENT_ANCHOR_COLUMNS,
  type AgentAnchorRecord,
  type AgentAnchorRow,
  agentAnchorRecord,
  toAgentRecord,
  updateAgentAnchor,
} from "./anchor-records.js";
import { type AnchoringContext, describeError } from "./anchoring-context.js";

export async function anchorAgent(
  ctx: AnchoringContext,
  identity: IdentityRegistryContract,
  agentId: string,
  cardVersion: number,
  cardHash: Hex,
  wait: boolean,
): Promise<AgentAnchorRecord> {
  const contract = identity.address.toLowerCase();
  const rows = await ctx.db.query<AgentAnchorRow>(
    `SELECT ${AGENT_ANCHOR_COLUMNS} FROM agent_anchors
     WHERE agent_id = $1 AND chain_id = $2 AND contract = $3 AND status <> 'dropped'
     ORDER BY card_version DESC`,
    [agentId, ctx.chainId, contract],
  );
  const records = rows.map(toAgentRecord);
  let current = records.find((r) => r.cardVersion === cardVersion);
  if (current !== undefined) {
    if (current.status !== "final") current = await reconcileAgentRecord(ctx, current);
    if (current.status !== "dropped") return current;
  }
  const uri = ctx.cardUri(agentId);
  const tokenId =
    records.find((r) => r.tokenId !== null)?.tokenId ??
    (await findRegistration(ctx, identity, uri));
  const now = ctx.now().toISOString();
  const [inserted] = await ctx.db.query<{ id: number }>(
    `INSERT INTO agent_anchors (agent_id, card_version, card_hash, chain_id, contract, token_id,
       status, attempts, created_at, updated_at)
     VALUES ($1, $2, decode($3, 'hex'), $4, $5, $6::numeric, 'pending', 1, $7, $7) RETURNING id`,
    [
      agentId,
      cardVersion,
      cardHash.slice(2),
      ctx.chainId,
      contract,
      tokenId?.toString() ?? null,
      now,
    ],
  );
  const id = Number(inserted?.id);
  try {
    if (tokenId !== undefined) {
      const onChain = await identity.cardOf(tokenId);
      if (onChain.hash.toLowerCase() === cardHash) {
        // Already there (a crash after sending, or another process): record it.
        const [event] = (
          await identity.queryEvents("CardUpdated", {
            args: { agentId: tokenId, version: onChain.version },
          })
        ).concat(
          onChain.version === 1n
            ? await identity.queryEvents("Registered", { args: { agentId: tokenId } })
            : [],
        );
        await updateAgentAnchor(ctx, id, {
          chain_version: Number(onChain.version),
          tx_hash: event?.log.transactionHash ?? null,
          block_number: event === undefined ? null : Number(event.log.blockNumber),
          block_hash: event?.log.blockHash ?? null,
          status: event === undefined ? "final" : "mined",
        });
      } else {
        const sent = await identity.updateCard({
          agentId: tokenId,
          uri,
          cardHash,
          version: onChain.version + 1n,
        });
        await updateAgentAnchor(ctx, id, {
          tx_hash: sent.hash,
          chain_version: Number(onChain.version + 1n),
        });
      }
    } else {
      const sent = await identity.register({ uri, cardHash });
      await updateAgentAnchor(ctx, id, { tx_hash: sent.hash, chain_version: 1 });
    }
  } catch (error) {
    await updateAgentAnchor(ctx, id, {
      status: isChaosCoreError(error, "CHAIN_RPC_UNREACHABLE") ? "pending" : "dropped",
      last_error: describeError(error),
    });
    throw error;
  }
  let record = await agentAnchorRecord(ctx, id);
  if (wait && record.txHash !== null && record.status === "pending") {
    await ctx.client.waitForTransaction(record.txHash, { confirmations: 1 });
  }
  record = await reconcileAgentRecord(ctx, record);
  return record;
}

/** The token id of an earlier registration by this signer with this URI, if any. */
export async function findRegistration(
  ctx: AnchoringContext,
  identity: IdentityRegistryContract,
  uri: string,
): Promise<bigint | undefined> {
  const owner = ctx.signer?.address;
  if (owner === undefined) return undefined;
  const events = await identity.queryEvents("Registered", { args: { owner } });
  const match = events.find((e) => e.args.agentURI === uri);
  return match === undefined ? undefined : (match.args.agentId as bigint);
}

export function findSentCardOf(
  ctx: AnchoringContext,
  record: AgentAnchorRecord,
): Promise<SentCardState> {
  if (ctx.identity === undefined) return Promise.resolve({ kind: "absent" });
  return findSentCard({
    client: ctx.client,
    identity: ctx.identity,
    owner: ctx.signer?.address,
    uri: ctx.cardUri(record.agentId),
    cardHash: record.cardHash,
    tokenId: record.tokenId,
  });
}

export async function reconcileAgentRecord(
  ctx: AnchoringContext,
  record: AgentAnchorRecord,
): Promise<AgentAnchorRecord> {
  if (record.status === "final" || record.status === "dropped") return record;
  if (record.txHash === null) {
    if (record.status !== "pending") return await agentAnchorRecord(ctx, record.id);
    // Sent before a crash or a lost answer? Ask the chain before dropping: registering
    // again would create a second identity for the agent.
    const sent = await findSentCardOf(ctx, record);
    if (sent.kind === "in-flight") return record;
    if (sent.kind === "absent" || sent.event === undefined) {
      await updateAgentAnchor(ctx, record.id, {
        status: "dropped",
        last_error: record.lastError ?? "no transaction was sent",
      });
      return await agentAnchorRecord(ctx, record.id);
    }
    await updateAgentAnchor(ctx, record.id, {
      token_id: sent.tokenId.toString(),
      chain_version: Number(sent.version),
      tx_hash: sent.event.log.transactionHash,
    });
    record = await agentAnchorRecord(ctx, record.id);
  }
  const txHash = record.txHash;
  if (txHash === null) return record;
  const receipt = await ctx.client.getTransactionReceipt(txHash);
  const state = await receiptState(ctx, receipt, txHash);
  if (state.kind === "in-pool") return record;
  if (state.kind === "gone" || state.kind === "reverted") {
    ctx.client.resetNonce?.(ctx.signer?.address);
    await updateAgentAnchor(ctx, record.id, {
      status: "dropped",
      last_error: state.kind === "gone" ? "the transaction vanished (reorg)" : "reverted",
    });
    return await agentAnchorRecord(ctx, record.id);
  }
  if (state.kind !== "mined") return record;
  const r = state.receipt;
  const identity = ctx.identity;
  const registered = identity?.registeredEvents(r)[0];
  const head = await ctx.client.getBlockNumber();
  await updateAgentAnchor(ctx, record.id, {
    ...(registered === undefined ? {} : { token_id: registered.agentId.toString() }),
    block_number: Number(r.blockNumber),
    block_hash: r.blockHash,
    status: head - r.blockNumber + 1n >= BigInt(ctx.confirmations) ? "final" : "mined",
  });
  return await agentAnchorRecord(ctx, record.id);
}

/**
 * Anchors the card of each agent (all registered agents, or those listed),
 * oldest first: see {@link anchorAgent}.
 */
export async function anchorAgentCards(
  ctx: AnchoringContext,
  identity: IdentityRegistryContract,
  options: { agents?: readonly string[]; wait?: boolean },
): Promise<AgentAnchorRecord[]> {
  const agents = await ctx.db.query<{
    id: string;
    card_hash: string;
    card_version: number;
  }>(
    `SELECT id, encode(card_hash, 'hex') AS card_hash, card_version FROM agents
     ${options.agents === undefined ? "" : "WHERE id = ANY($1::text[])"}
     ORDER BY created_at, id`,
    options.agents === undefined ? [] : [options.agents.map((a) => a.toLowerCase())],
  );
  const out: AgentAnchorRecord[] = [];
  for (const agent of agents) {
    out.push(
      await anchorAgent(
        ctx,
        identity,
        agent.id,
        Number(agent.card_version),
        `0x${agent.card_hash}`,
        options.wait === true,
      ),
    );
  }
  return out;
}
