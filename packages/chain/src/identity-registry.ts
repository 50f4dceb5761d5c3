/**
 * The ERC-8004-style IdentityRegistry contract: agents as ERC-721 tokens with
 * an anchored card (hash, version) and an agent wallet set with the wallet's
 * EIP-712 consent. See docs/spec/contracts.md.
 *
 * @module
 */
import { toBytes, toHash, toUint, toUri, UINT64_MAX, UINT256_MAX } from "./contract-args.js";
import { ContractClient, type ContractOptions } from "./contract-client.js";
import type {
  Address,
  ChainSigner,
  Hex,
  Log,
  SentTransaction,
  TransactionReceipt,
} from "./types.js";

/** An agent's anchored card. */
export type AgentCardRecord = {
  readonly hash: Hex;
  readonly version: bigint;
  readonly updatedAt: bigint;
};

/** The `Registered` event. */
export type RegisteredEvent = {
  readonly agentId: bigint;
  readonly agentURI: string;
  readonly owner: Address;
  readonly log: Log;
};

/** The `CardUpdated` event. */
export type CardUpdatedEvent = {
  readonly agentId: bigint;
  readonly version: bigint;
  readonly cardHash: Hex;
  readonly agentURI: string;
  readonly log: Log;
};

/**
 * The ERC-8004-style IdentityRegistry contract.
 *
 * @example
 * ```ts
 * const registry = new IdentityRegistryContract({ client, address, signer });
 * const receipt = await (await registry.register({ uri, cardHash })).wait();
 * const [{ agentId }] = registry.registeredEvents(receipt);
 * ```
 */
export class IdentityRegistryContract extends ContractClient<"IdentityRegistry"> {
  constructor(options: ContractOptions) {
    super("IdentityRegistry", options);
  }

  /**
   * Registers an agent (the signer becomes its owner and wallet) with its card URI and hash.
   * @throws ChaosCoreError CHAIN_REVERTED (EmptyCardHash).
   */
  async register(input: { uri: string; cardHash: Hex | Uint8Array }): Promise<SentTransaction> {
    return await this.write("register(string,bytes32)", [
      toUri(input.uri),
      toHash(input.cardHash, "cardHash"),
    ]);
  }

  /**
   * Replaces the card (hash and URI); `version` must be the current version plus one.
   * @throws ChaosCoreError CHAIN_REVERTED (NotAuthorized, EmptyCardHash, CardVersionMismatch,
   * ERC721NonexistentToken).
   */
  async updateCard(input: {
    agentId: bigint;
    uri: string;
    cardHash: Hex | Uint8Array;
    version: bigint | number;
  }): Promise<SentTransaction> {
    return await this.write("updateCard", [
      toUint(input.agentId, "agentId", UINT256_MAX),
      toUri(input.uri),
      toHash(input.cardHash, "cardHash"),
      toUint(input.version, "version", UINT64_MAX),
    ]);
  }

  /** ERC-8004 `setAgentURI` (the card hash and version stay). */
  async setAgentURI(agentId: bigint, uri: string): Promise<SentTransaction> {
    return await this.write("setAgentURI", [agentId, toUri(uri)]);
  }

  /** ERC-8004 `setMetadata` ("agentWallet" is reserved). */
  async setMetadata(
    agentId: bigint,
    key: string,
    value: Hex | Uint8Array,
  ): Promise<SentTransaction> {
    return await this.write("setMetadata", [agentId, key, toBytes(value)]);
  }

  async getMetadata(agentId: bigint, key: string): Promise<Hex> {
    return (await this.read("getMetadata", [agentId, key]))[0];
  }

  /**
   * The agent's card.
   * @throws ChaosCoreError CHAIN_REVERTED (ERC721NonexistentToken) for an unknown agent.
   */
  async cardOf(agentId: bigint): Promise<AgentCardRecord> {
    const [card] = await this.read("cardOf", [agentId]);
    return { hash: card.hash, version: card.version, updatedAt: card.updatedAt };
  }

  async tokenURI(agentId: bigint): Promise<string> {
    return (await this.read("tokenURI", [agentId]))[0];
  }

  async ownerOf(agentId: bigint): Promise<Address> {
    return (await this.read("ownerOf", [agentId]))[0];
  }

  async getAgentWallet(agentId: bigint): Promise<Address> {
    return (await this.read("getAgentWallet", [agentId]))[0];
  }

  async totalAgents(): Promise<bigint> {
    return (await this.read("totalAgents"))[0];
  }

  /**
   * The new wallet's EIP-712 consent to become the agent's wallet (ERC-8004 `AgentWalletSet`).
   * `deadline` is a unix time at most 5 minutes after the block's.
   */
  async signAgentWallet(
    wallet: ChainSigner,
    input: { agentId: bigint; owner: Address; deadline: bigint },
  ): Promise<Hex> {
    return await wallet.signTypedData(
      {
        name: "ERC8004IdentityRegistry",
        version: "1",
        chainId: this.client.chainId,
        verifyingContract: this.address,
      },
      {
        AgentWalletSet: [
          { name: "agentId", type: "uint256" },
          { name: "newWallet", type: "address" },
          { name: "owner", type: "address" },
          { name: "deadline", type: "uint256" },
        ],
      },
      {
        agentId: input.agentId,
        newWallet: wallet.address,
        owner: input.owner,
        deadline: input.deadline,
      },
    );
  }

  /**
   * ERC-8004 `setAgentWallet`, sent by the owner with the wallet's signature.
   * @throws ChaosCoreError CHAIN_REVERTED (ZeroWallet, SignatureExpired, DeadlineTooFar,
   * NotAuthorized, InvalidWalletSignature).
   */
  async setAgentWallet(input: {
    agentId: bigint;
    wallet: Address;
    deadline: bigint;
    signature: Hex;
  }): Promise<SentTransaction> {
    return await this.write("setAgentWallet", [
      input.agentId,
      input.wallet,
      input.deadline,
      input.signature,
    ]);
  }

  registeredEvents(source: TransactionReceipt | readonly Log[]): RegisteredEvent[] {
    return this.events("Registered", source).map(({ args, log }) => ({
      agentId: args.agentId,
      agentURI: args.agentURI,
      owner: args.owner,
      log,
    }));
  }

  cardUpdatedEvents(source: TransactionReceipt | readonly Log[]): CardUpdatedEvent[] {
    return this.events("CardUpdated", source).map(({ args, log }) => ({
      agentId: args.agentId,
      version: args.version,
      cardHash: args.cardHash,
      agentURI: args.agentURI,
      log,
    }));
  }
}
