/**
 * What became of an agent-card anchor recorded as pending with no
 * transaction hash (issue 19 item 17): the process crashed between sending
 * and recording, or the node's answer to the send was lost. Dropping it
 * blindly and registering again creates a second identity on chain for the
 * same agent; so the chain is asked first: is the card there (registered by
 * our signer under the agent's URI, or at the token's current version), or
 * does the signer still have transactions in the pool?
 * @module
 */
import type { BlockchainClient, DecodedEvent, IdentityRegistryContract } from "@chaoscore/chain";
import type { Address, Hex } from "@chaoscore/core";

/** The chain's answer about a card anchor whose transaction hash was never recorded. */
export type SentCardState =
  /** On chain: the registration or update, with its event (for the transaction and block). */
  | { kind: "on-chain"; tokenId: bigint; version: bigint; event: DecodedEvent | undefined }
  /** Not on chain yet, but the signer has transactions waiting in the pool: keep waiting. */
  | { kind: "in-flight" }
  /** Not on chain and nothing in the pool: it was never sent (or was dropped). */
  | { kind: "absent" };

/**
 * Looks the card anchor up on chain.
 * @throws ChaosCoreError CHAIN_RPC_UNREACHABLE, CHAIN_RPC_ERROR.
 */
export async function findSentCard(options: {
  client: BlockchainClient;
  identity: IdentityRegistryContract;
  /** The service's signer: the owner of the registrations it sent. */
  owner: Address | undefined;
  uri: string;
  cardHash: Hex;
  /** The agent's token when the anchor was a card update; null for a first registration. */
  tokenId: bigint | null;
}): Promise<SentCardState> {
  const { identity, owner, uri } = options;
  const cardHash = options.cardHash.toLowerCase();
  if (options.tokenId !== null) {
    const onChain = await identity.cardOf(options.tokenId);
    if (onChain.hash.toLowerCase() === cardHash) {
      const [event] = await identity.queryEvents("CardUpdated", {
        args: { agentId: options.tokenId, version: onChain.version },
      });
      return { kind: "on-chain", tokenId: options.tokenId, version: onChain.version, event };
    }
  } else if (owner !== undefined) {
    const registered = (await identity.queryEvents("Registered", { args: { owner } })).filter(
      (e) => e.args.agentURI === uri,
    );
    for (const event of registered.reverse()) {
      const tokenId = event.args.agentId as bigint;
      const onChain = await identity.cardOf(tokenId);
      if (onChain.version === 1n && onChain.hash.toLowerCase() === cardHash) {
        return { kind: "on-chain", tokenId, version: 1n, event };
      }
      // A later version of the same registration: the registration itself is there.
      if (onChain.version > 1n) return { kind: "on-chain", tokenId, version: 1n, event };
    }
  }
  if (owner !== undefined) {
    const [pending, latest] = await Promise.all([
      options.client.getTransactionCount(owner, "pending"),
      options.client.getTransactionCount(owner, "latest"),
    ]);
    if (pending > latest) return { kind: "in-flight" };
  }
  return { kind: "absent" };
}
