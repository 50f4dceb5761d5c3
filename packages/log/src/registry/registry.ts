/**
 * The agent registry. Its parts: request checks (registry-checks.ts),
 * storage (agent-rows.ts), registration (registration.ts), card versions
 * (card-versions.ts), keys and rotation (key-rotation.ts), status changes
 * (status-changes.ts), proof of control (agent-challenges.ts) and queries
 * (agent-queries.ts); what they share is in registry-context.ts.
 * @module
 */
import type { Address, KeyRotation, SigningDomain } from "@chaoscore/core";
import type { Db } from "../store/db.js";
import type {
  AgentCardVersion,
  AgentChallenge,
  AgentControlProof,
  AgentKey,
  AgentPage,
  AgentRecord,
  AgentRegistryInterface,
  AgentSigningState,
  AgentStatusChange,
  ListAgentsQuery,
  ProveAgentControlRequest,
  RegisterAgentRequest,
  RevokeAgentRequest,
  RotateAgentKeyRequest,
  UpdateAgentCardRequest,
} from "./agent.js";
import { createChallenge, proveControl } from "./agent-challenges.js";
import { listAgents, signingState } from "./agent-queries.js";
import { readAgent } from "./agent-rows.js";
import { cardHistory, updateAgentCard } from "./card-versions.js";
import { keyHistory, keyRotations, rotateAgentKey } from "./key-rotation.js";
import { registerAgent } from "./registration.js";
import { normalizeId } from "./registry-checks.js";
import type { RegistryContext } from "./registry-context.js";
import { changeStatusByOperator, revokeAgent, statusHistory } from "./status-changes.js";

/** Options of {@link AgentRegistry}. */
export type AgentRegistryOptions = {
  db: Db;
  /** The chain id every registry message must be signed for (the EIP-712 domain's). */
  chainId: bigint;
  /**
   * The deployment every registry message must be signed for (the EIP-712
   * domain's `verifyingContract`): a message signed for another deployment
   * does not verify here.
   */
  verifyingContract: Address;
  /** The clock (for expiries, challenges and timestamps); default `() => new Date()`. */
  now?: () => Date;
};

/**
 * The agent registry on Postgres (PGlite or a server).
 *
 * @example
 * const registry = new AgentRegistry({ db, chainId: 31337n, verifyingContract: DEVELOPMENT_DEPLOYMENT });
 * const card = parseAgentCard(json);
 * const message = { agent, cardHash: agentCardHash(card), nonce: "1", expiry: "1900000000" };
 * const signature = signTypedMessage("RegisterAgent", message, registry.domain, key);
 * const record = await registry.register({ chainId: "31337", card, message, signature });
 */
export class AgentRegistry implements AgentRegistryInterface {
  readonly #ctx: RegistryContext;
  /** The chain and deployment registry messages are signed for. */
  readonly domain: SigningDomain;

  constructor(options: AgentRegistryOptions) {
    this.domain = { chainId: options.chainId, verifyingContract: options.verifyingContract };
    this.#ctx = {
      db: options.db,
      chainId: options.chainId,
      domain: this.domain,
      now: options.now ?? (() => new Date()),
    };
  }

  register(request: RegisterAgentRequest): Promise<AgentRecord> {
    return registerAgent(this.#ctx, request);
  }

  async get(id: string): Promise<AgentRecord> {
    return readAgent(this.#ctx.db, normalizeId(id));
  }

  list(query: ListAgentsQuery = {}): Promise<AgentPage> {
    return listAgents(this.#ctx, query);
  }

  updateCard(request: UpdateAgentCardRequest): Promise<AgentRecord> {
    return updateAgentCard(this.#ctx, request);
  }

  cardHistory(id: string): Promise<AgentCardVersion[]> {
    return cardHistory(this.#ctx, id);
  }

  rotateKey(request: RotateAgentKeyRequest): Promise<AgentRecord> {
    return rotateAgentKey(this.#ctx, request);
  }

  keyRotations(id: string, upToSigner?: string): Promise<KeyRotation[]> {
    return keyRotations(this.#ctx, id, upToSigner);
  }

  keyHistory(id: string): Promise<AgentKey[]> {
    return keyHistory(this.#ctx, id);
  }

  suspend(id: string, reason: string): Promise<AgentRecord> {
    return changeStatusByOperator(this.#ctx, id, reason, ["active"], "suspended");
  }

  reactivate(id: string, reason: string): Promise<AgentRecord> {
    return changeStatusByOperator(this.#ctx, id, reason, ["suspended"], "active");
  }

  revokeByOperator(id: string, reason: string): Promise<AgentRecord> {
    return changeStatusByOperator(this.#ctx, id, reason, ["active", "suspended"], "revoked");
  }

  revoke(request: RevokeAgentRequest): Promise<AgentRecord> {
    return revokeAgent(this.#ctx, request);
  }

  statusHistory(id: string): Promise<AgentStatusChange[]> {
    return statusHistory(this.#ctx, id);
  }

  createChallenge(id: string, ttlSeconds?: number): Promise<AgentChallenge> {
    return createChallenge(this.#ctx, id, ttlSeconds);
  }

  verify(request: ProveAgentControlRequest): Promise<AgentControlProof> {
    return proveControl(this.#ctx, request);
  }

  signingState(ids: readonly string[], tx?: Db): Promise<Map<string, AgentSigningState>> {
    return signingState(this.#ctx, ids, tx);
  }
}
