/**
 * The registry integration tests' fixture: a test database, a registry over
 * it with a clock the tests move, and builders of signed requests.
 * @module
 */
import { randomBytes } from "node:crypto";
import {
  type Address,
  AGENT_CARD_FORMAT,
  type AgentCard,
  agentCardHash,
  deploymentAddress,
  type ErrorCode,
  type Hex,
  isChaosCoreError,
  type MessageKind,
  privateKeyToAddress,
  signTypedMessage,
  type TypedMessage,
} from "@chaoscore/core";
import { openTestDb } from "@chaoscore/testkit";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import type { Db } from "../../store/db.js";
import { type AgentRecord, AgentRegistry } from "../index.js";

export const CHAIN = 31337n;
export const OTHER_CHAIN = 1n;
/** This registry's deployment, and another deployment on the same chain. */
export const DEPLOYMENT = deploymentAddress("registry test A");
export const OTHER_DEPLOYMENT = deploymentAddress("registry test B");
export const START = new Date("2030-01-01T00:00:00.000Z");
const TABLES = [
  "agents",
  "agent_card_versions",
  "agent_keys",
  "agent_status_changes",
  "agent_challenges",
] as const;

export type Key = { key: Uint8Array; address: Address };

export function newKey(): Key {
  const key = Uint8Array.from(randomBytes(32));
  return { key, address: privateKeyToAddress(key) };
}

export function makeCard(patch: Partial<AgentCard> = {}): AgentCard {
  return {
    format: AGENT_CARD_FORMAT,
    name: "Proposal Analyst",
    description: "Analyses DAO proposals and recommends a vote.",
    capabilities: ["governance.analyse", "governance.vote"],
    framework: "crewai",
    version: "1.0.0",
    endpoints: [{ name: "A2A", endpoint: "https://agent.example/.well-known/agent-card.json" }],
    codeMeasurement: null,
    owner: null,
    ...patch,
  };
}

export function sign<K extends MessageKind>(
  kind: K,
  message: TypedMessage<K>,
  signer: Key,
  chainId = CHAIN,
  verifyingContract = DEPLOYMENT,
): Hex {
  return signTypedMessage(kind, message, { chainId, verifyingContract }, signer.key);
}

/**
 * Registers the fixture's hooks in the calling `describe` (a fresh database,
 * the clock one second later before each test) and returns its helpers;
 * `db`, `registry` and `clock` are read through the returned object.
 */
export function useRegistryFixture() {
  let db: Db;
  let drop: () => Promise<void>;
  let clock: Date;
  let registry: AgentRegistry;

  const nowSeconds = () => Math.floor(clock.getTime() / 1000);
  const expiry = (delta = 3600) => String(nowSeconds() + delta);
  const advance = (seconds: number) => {
    clock = new Date(clock.getTime() + seconds * 1000);
  };

  beforeAll(async () => {
    ({ db, drop } = await openTestDb());
    clock = START;
    registry = new AgentRegistry({
      db,
      chainId: CHAIN,
      verifyingContract: DEPLOYMENT,
      now: () => clock,
    });
  });
  afterAll(() => drop());
  beforeEach(() => advance(1));

  /** Every registry row that a rejected call must leave alone. */
  async function snapshot() {
    const counts: Record<string, number> = {};
    for (const table of TABLES) {
      const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      counts[table] = Number(row?.n);
    }
    const agents = await db.query(
      `SELECT id, signer, public_key, status, card::text AS card, encode(card_hash, 'hex') AS hash,
         card_version, name, owner, capabilities::text AS caps, registry_nonce::text AS rn,
         action_nonce::text AS an, created_at::text AS c, updated_at::text AS u
       FROM agents ORDER BY id`,
    );
    const challenges = await db.query(
      `SELECT challenge, agent_id, expires_at::text AS e, answered_at::text AS a
       FROM agent_challenges ORDER BY challenge`,
    );
    return { counts, agents, challenges };
  }

  /** Runs `fn`, expects it to fail with `code`, and checks that no row changed. */
  async function expectRejected(code: ErrorCode, fn: () => Promise<unknown>): Promise<void> {
    const before = await snapshot();
    let error: unknown;
    try {
      await fn();
    } catch (e) {
      error = e;
    }
    expect(error, `expected ${code}`).toBeDefined();
    if (!isChaosCoreError(error)) throw error;
    expect(error.code).toBe(code);
    expect(await snapshot()).toEqual(before);
  }

  function registerRequest(
    agent: Key,
    options: {
      card?: unknown;
      cardHash?: Hex;
      nonce?: string;
      expiry?: string;
      chainId?: string;
      signer?: Key;
      signChain?: bigint;
    } = {},
  ) {
    const card = options.card ?? makeCard();
    const message = {
      agent: agent.address,
      cardHash: options.cardHash ?? agentCardHash(card as AgentCard),
      nonce: options.nonce ?? "1",
      expiry: options.expiry ?? expiry(),
    };
    return {
      chainId: options.chainId ?? CHAIN.toString(),
      card: card as AgentCard,
      message,
      signature: sign("RegisterAgent", message, options.signer ?? agent, options.signChain),
    };
  }

  async function registered(card = makeCard()): Promise<{ agent: Key; record: AgentRecord }> {
    const agent = newKey();
    const record = await registry.register(registerRequest(agent, { card }));
    return { agent, record };
  }

  function updateRequest(
    agent: Address,
    signer: Key,
    options: { card?: AgentCard; version?: string; nonce: string; expiry?: string },
  ) {
    const card = options.card ?? makeCard({ name: "Proposal Analyst II" });
    const message = {
      agent,
      cardHash: agentCardHash(card),
      version: options.version ?? "2",
      nonce: options.nonce,
      expiry: options.expiry ?? expiry(),
    };
    return {
      chainId: CHAIN.toString(),
      card,
      message,
      signature: sign("UpdateAgentCard", message, signer),
    };
  }

  function rotateRequest(
    agent: Address,
    oldKey: Key,
    newSigner: Key,
    options: { nonce: string; proofBy?: Key; expiry?: string },
  ) {
    const message = {
      agent,
      newSigner: newSigner.address,
      nonce: options.nonce,
      expiry: options.expiry ?? expiry(),
    };
    return {
      chainId: CHAIN.toString(),
      message,
      signature: sign("RotateAgentKey", message, oldKey),
      newKeyProof: sign("RotateAgentKey", message, options.proofBy ?? newSigner),
    };
  }

  function revokeRequest(agent: Address, signer: Key, nonce: string) {
    const message = { agent, nonce, expiry: expiry() };
    return {
      chainId: CHAIN.toString(),
      message,
      signature: sign("RevokeAgent", message, signer),
    };
  }

  function proveRequest(agent: Address, signer: Key, challenge: Hex, chainId = CHAIN) {
    const message = { agent, nonce: challenge, expiry: expiry(60) };
    return {
      chainId: CHAIN.toString(),
      message,
      signature: sign("ProveAgentControl", message, signer, chainId),
    };
  }

  return {
    get db() {
      return db;
    },
    get registry() {
      return registry;
    },
    get clock() {
      return clock;
    },
    nowSeconds,
    expiry,
    advance,
    snapshot,
    expectRejected,
    registerRequest,
    registered,
    updateRequest,
    rotateRequest,
    revokeRequest,
    proveRequest,
  };
}
