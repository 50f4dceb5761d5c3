import type {
  Address,
  AgentCard,
  Hex,
  KeyRotation,
  ProveAgentControlMessage,
  RegisterAgentMessage,
  RevokeAgentMessage,
  RotateAgentKeyMessage,
  UpdateAgentCardMessage,
} from "@chaoscore/core";
import type { Db } from "../store/db.js";

/** The statuses of an agent. `revoked` is terminal. */
export const AGENT_STATUSES = ["active", "suspended", "revoked"] as const;
/** The status of an agent. */
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/** Who an agent is and which key it signs with now. */
export type AgentIdentity = {
  /** The agent's address at registration (lowercase 0x-hex). Never changes. */
  id: Address;
  /** The address of the agent's current signing key. */
  signer: Address;
  /** The current key's uncompressed secp256k1 public key (65 bytes, 0x04…). */
  publicKey: Hex;
  status: AgentStatus;
  /** The last accepted registry nonce (uint64, decimal): the next message needs a larger one. */
  registryNonce: string;
  /** ISO 8601 timestamps. */
  createdAt: string;
  updatedAt: string;
};

/** The agent's current card, its version (1 at registration) and its hash. */
export type AgentMetadata = {
  card: AgentCard;
  /** 1-based; each accepted `UpdateAgentCard` adds one. */
  version: number;
  /** `agentCardHash(card)`. */
  cardHash: Hex;
};

/** An agent as the registry holds it. */
export type AgentRecord = { identity: AgentIdentity; metadata: AgentMetadata };

/** A request to register an agent: the card, and the agent's signed `RegisterAgent` message. */
export type RegisterAgentRequest = {
  /** The chain id the message was signed for, as a decimal string. */
  chainId: string;
  card: AgentCard;
  message: RegisterAgentMessage;
  signature: Hex;
};

/** A request to replace the card, signed by the agent's current key. */
export type UpdateAgentCardRequest = {
  chainId: string;
  card: AgentCard;
  message: UpdateAgentCardMessage;
  signature: Hex;
};

/**
 * A request to rotate the key: `signature` by the current key and
 * `newKeyProof` by the new key (`message.newSigner`), over the same message.
 */
export type RotateAgentKeyRequest = {
  chainId: string;
  message: RotateAgentKeyMessage;
  signature: Hex;
  newKeyProof: Hex;
};

/** A request by the agent to revoke itself, signed by its current key. */
export type RevokeAgentRequest = { chainId: string; message: RevokeAgentMessage; signature: Hex };

/** The answer to a challenge: `message.nonce` is the challenge. */
export type ProveAgentControlRequest = {
  chainId: string;
  message: ProveAgentControlMessage;
  signature: Hex;
};

/** Filters and page of {@link AgentRegistryInterface.list}. */
export type ListAgentsQuery = {
  /** Only agents whose card lists this capability. */
  capability?: string;
  /** Only agents whose card names this owner address. */
  owner?: string;
  status?: AgentStatus;
  /** Case-insensitive substring of the card's name or description. */
  text?: string;
  /** Page size, 1..500 (default 50). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
};

/** One page of agents, oldest first; `nextCursor` is null on the last page. */
export type AgentPage = { items: AgentRecord[]; nextCursor: string | null };

/** One version of an agent's card, with the signed message that introduced it. */
export type AgentCardVersion = {
  version: number;
  card: AgentCard;
  cardHash: Hex;
  signature: Hex;
  createdAt: string;
} & (
  | { kind: "RegisterAgent"; message: RegisterAgentMessage }
  | { kind: "UpdateAgentCard"; message: UpdateAgentCardMessage }
);

/** A key the agent has signed with: seq 0 is the registration key, each rotation adds one. */
export type AgentKey = { seq: number; signer: Address; publicKey: Hex; createdAt: string };

/** One status change (seq 0 is the registration). `proof` is the signed message, if any. */
export type AgentStatusChange = {
  seq: number;
  status: AgentStatus;
  reason: string | null;
  proof: { kind: "RegisterAgent" | "RevokeAgent"; message: unknown; signature: Hex } | null;
  createdAt: string;
};

/** A fresh proof-of-control challenge. */
export type AgentChallenge = {
  /** 32 random bytes: the `nonce` of the `ProveAgentControl` answer. */
  challenge: Hex;
  expiresAt: string;
};

/** The result of a verified proof of control. */
export type AgentControlProof = {
  agent: Address;
  signer: Address;
  status: AgentStatus;
  verifiedAt: string;
};

/** What Proof of Agency needs to check an agent's signature and nonce. */
export type AgentSigningState = {
  signer: Address;
  status: AgentStatus;
  /** The last accepted action nonce (owned by Proof of Agency), or null before the first. */
  actionNonce: bigint | null;
};

/**
 * The agent registry: identities, cards with their history, key rotation,
 * status and proof of key control. Every write is one transaction; every
 * rejection is a {@link ChaosCoreError} with an `AGENT_*` code and writes nothing.
 */
export interface AgentRegistryInterface {
  /**
   * Registers an agent under `message.agent`, which must have signed the
   * `RegisterAgent` message (proof that the registrant holds the key). The
   * card becomes version 1 and the registry nonce becomes `message.nonce`.
   * @throws ChaosCoreError AGENT_REQUEST_MALFORMED, AGENT_WRONG_CHAIN,
   * AGENT_EXPIRED, AGENT_CARD_INVALID, AGENT_CARD_HASH_MISMATCH,
   * AGENT_BAD_SIGNATURE, AGENT_ALREADY_REGISTERED, STORE_UNAVAILABLE.
   * @example
   * const message = { agent, cardHash: agentCardHash(card), nonce: "1", expiry };
   * const signature = signTypedMessage("RegisterAgent", message, chainId, key);
   * await registry.register({ chainId: String(chainId), card, message, signature });
   */
  register(request: RegisterAgentRequest): Promise<AgentRecord>;
  /**
   * The agent registered under `id` (a lowercase or EIP-55 address).
   * @throws ChaosCoreError AGENT_NOT_FOUND, STORE_UNAVAILABLE.
   */
  get(id: string): Promise<AgentRecord>;
  /**
   * Agents matching every given filter, oldest registration first (ties by
   * id), one page at a time: pass `nextCursor` back as `cursor`.
   * @throws ChaosCoreError AGENT_REQUEST_MALFORMED (bad filter, limit or cursor),
   * STORE_UNAVAILABLE.
   * @example
   * const query = { capability: "governance.vote", limit: 100 };
   * let page = await registry.list(query);
   * while (page.nextCursor) page = await registry.list({ ...query, cursor: page.nextCursor });
   */
  list(query?: ListAgentsQuery): Promise<AgentPage>;
  /**
   * Replaces the card. Signed by the agent's current key; `message.version`
   * must be the current version + 1 and `message.nonce` larger than the
   * registry nonce. The previous versions stay in {@link cardHistory}.
   * @throws ChaosCoreError AGENT_REQUEST_MALFORMED, AGENT_WRONG_CHAIN,
   * AGENT_EXPIRED, AGENT_CARD_INVALID, AGENT_CARD_HASH_MISMATCH, AGENT_NOT_FOUND,
   * AGENT_BAD_SIGNATURE, AGENT_NOT_ACTIVE, AGENT_NONCE_NOT_INCREASING,
   * AGENT_VERSION_INVALID, STORE_UNAVAILABLE.
   */
  updateCard(request: UpdateAgentCardRequest): Promise<AgentRecord>;
  /**
   * Every version of the agent's card, oldest first, with the signed
   * `RegisterAgent` / `UpdateAgentCard` message that introduced it.
   * @throws ChaosCoreError AGENT_NOT_FOUND, STORE_UNAVAILABLE.
   */
  cardHistory(id: string): Promise<AgentCardVersion[]>;
  /**
   * Rotates the agent's signing key to `message.newSigner`. `signature` is by
   * the current key and `newKeyProof` by the new key, over the same message.
   * The new key must never have been a key of this agent.
   * @throws ChaosCoreError AGENT_REQUEST_MALFORMED, AGENT_WRONG_CHAIN,
   * AGENT_EXPIRED, AGENT_BAD_SIGNATURE, AGENT_KEY_PROOF_INVALID, AGENT_NOT_FOUND,
   * AGENT_NOT_ACTIVE, AGENT_NONCE_NOT_INCREASING, AGENT_KEY_REUSED, STORE_UNAVAILABLE.
   */
  rotateKey(request: RotateAgentKeyRequest): Promise<AgentRecord>;
  /**
   * The signed rotations that lead from the registration key (the id) to
   * `upToSigner` (default: the current key), in order — what a receipt
   * embeds so that an offline verifier can link a rotated key to the id.
   * Empty for the registration key.
   * @throws ChaosCoreError AGENT_NOT_FOUND, AGENT_REQUEST_MALFORMED (not an
   * address), AGENT_SIGNER_UNKNOWN, STORE_UNAVAILABLE.
   */
  keyRotations(id: string, upToSigner?: string): Promise<KeyRotation[]>;
  /**
   * Every key the agent has had, seq 0 (the registration key) first.
   * @throws ChaosCoreError AGENT_NOT_FOUND, STORE_UNAVAILABLE.
   */
  keyHistory(id: string): Promise<AgentKey[]>;
  /**
   * Operator: active → suspended. `reason` (≤ 1000 characters) is recorded.
   * @throws ChaosCoreError AGENT_NOT_FOUND, AGENT_REQUEST_MALFORMED,
   * AGENT_STATUS_TRANSITION_INVALID, STORE_UNAVAILABLE.
   */
  suspend(id: string, reason: string): Promise<AgentRecord>;
  /**
   * Operator: suspended → active.
   * @throws ChaosCoreError AGENT_NOT_FOUND, AGENT_REQUEST_MALFORMED,
   * AGENT_STATUS_TRANSITION_INVALID, STORE_UNAVAILABLE.
   */
  reactivate(id: string, reason: string): Promise<AgentRecord>;
  /**
   * The agent revokes itself (from active or suspended), signed by its
   * current key. Revocation is terminal.
   * @throws ChaosCoreError AGENT_REQUEST_MALFORMED, AGENT_WRONG_CHAIN,
   * AGENT_EXPIRED, AGENT_BAD_SIGNATURE, AGENT_NOT_FOUND,
   * AGENT_STATUS_TRANSITION_INVALID, AGENT_NONCE_NOT_INCREASING, STORE_UNAVAILABLE.
   */
  revoke(request: RevokeAgentRequest): Promise<AgentRecord>;
  /**
   * Operator: active or suspended → revoked (terminal).
   * @throws ChaosCoreError AGENT_NOT_FOUND, AGENT_REQUEST_MALFORMED,
   * AGENT_STATUS_TRANSITION_INVALID, STORE_UNAVAILABLE.
   */
  revokeByOperator(id: string, reason: string): Promise<AgentRecord>;
  /**
   * Every status change, seq 0 (the registration) first.
   * @throws ChaosCoreError AGENT_NOT_FOUND, STORE_UNAVAILABLE.
   */
  statusHistory(id: string): Promise<AgentStatusChange[]>;
  /**
   * Issues a random 32-byte challenge for the agent (not revoked), valid
   * `ttlSeconds` (1..86400, default 300). Answer it with {@link verify}.
   * @throws ChaosCoreError AGENT_NOT_FOUND, AGENT_NOT_ACTIVE (revoked),
   * AGENT_REQUEST_MALFORMED (ttl), STORE_UNAVAILABLE.
   */
  createChallenge(id: string, ttlSeconds?: number): Promise<AgentChallenge>;
  /**
   * Checks a `ProveAgentControl` answer: signed by the agent's current key,
   * for an unexpired, unanswered challenge issued to that agent. A challenge
   * is accepted once.
   * @throws ChaosCoreError AGENT_REQUEST_MALFORMED, AGENT_WRONG_CHAIN,
   * AGENT_EXPIRED, AGENT_BAD_SIGNATURE, AGENT_NOT_FOUND, AGENT_NOT_ACTIVE
   * (revoked), AGENT_CHALLENGE_INVALID, STORE_UNAVAILABLE.
   * @example
   * const { challenge } = await registry.createChallenge(id);
   * const message = { agent: id, nonce: challenge, expiry };
   * const signature = signTypedMessage("ProveAgentControl", message, chainId, key);
   * const { signer } = await registry.verify({ chainId: String(chainId), message, signature });
   */
  verify(request: ProveAgentControlRequest): Promise<AgentControlProof>;
  /**
   * Signer, status and action nonce of each known agent among `ids` (exact,
   * lowercase ids; unknown ids are absent from the map). With `tx`, the read
   * runs in that transaction and locks the rows (`FOR UPDATE`, in id order)
   * until it ends, so a concurrent rotation, suspension or revocation waits
   * for the caller to commit. The registry never writes `actionNonce`.
   * @throws ChaosCoreError AGENT_REQUEST_MALFORMED (more than 10 000 ids), STORE_UNAVAILABLE.
   */
  signingState(ids: readonly string[], tx?: Db): Promise<Map<string, AgentSigningState>>;
}
