import { randomBytes } from "node:crypto";
import {
  type AgentCard,
  DEVELOPMENT_DEPLOYMENT,
  generateNoteKey,
  privateKeyToAddress,
  type SignActionInput,
  signAction,
  signRegistration,
} from "@chaoscore/core";
import { createNode, type Engine, type EngineOptions } from "@chaoscore/engine";
import { openTestDb } from "./test-db.js";

export const CHAIN_ID = 31337n;

/** A card for tests. */
export function testCard(name: string, capabilities: string[] = ["governance"]): AgentCard {
  return {
    format: "chaoscore.agent-card/v1",
    name,
    description: `${name}, a test agent`,
    capabilities,
    framework: "test",
    version: "1.0.0",
    endpoints: [],
    codeMeasurement: null,
    owner: null,
  };
}

/**
 * A test engine on a fresh database ({@link openTestDb}), assembled by the
 * composition root (`createNode`) as every entry point is, with a helper to
 * register agents. `options` override the engine's settings.
 */
export async function openTestEngine(options: Partial<EngineOptions> = {}) {
  const { db, drop } = await openTestDb();
  const origin = "chaoscore.test/log/default";
  const keys = generateNoteKey(origin);
  const { chain, db: _db, ...engineOptions } = options;
  const log = { id: "default", origin, ...keys, ...options.log };
  const node = await createNode(
    {
      chainId: (options.chainId ?? CHAIN_ID).toString(),
      log,
      verifyingContract: options.verifyingContract ?? DEVELOPMENT_DEPLOYMENT,
      database: { dataDir: ":memory:" },
    },
    {
      db,
      // As before the composition root: receipts carry only anchors of the engine's chain.
      storedAnchors: false,
      ...(chain === undefined ? {} : { chain }),
      engine: engineOptions,
    },
  ).catch(async (error: unknown) => {
    await drop();
    throw error;
  });
  const engine: Engine = node.engine;
  const { verifierKey } = log;
  let agents = 0;
  /** Registers a new agent and returns its key and a nonce counter. */
  async function newAgent(capabilities?: string[]) {
    const privateKey = Uint8Array.from(randomBytes(32));
    const address = privateKeyToAddress(privateKey);
    agents++;
    await engine.registry.register(
      signRegistration({
        privateKey,
        chainId: CHAIN_ID,
        verifyingContract: engine.registry.domain.verifyingContract,
        card: testCard(`agent ${agents}`, capabilities),
      }),
    );
    let nonce = 0n;
    return {
      privateKey,
      address,
      /** Signs an action with the next nonce. */
      action(input: Partial<SignActionInput> = {}) {
        nonce++;
        return signAction({
          privateKey,
          chainId: CHAIN_ID,
          verifyingContract: engine.registry.domain.verifyingContract,
          actionType: "test.act",
          nonce,
          ...input,
        });
      },
      nextNonce: () => ++nonce,
    };
  }
  return {
    db,
    engine,
    verifierKey,
    newAgent,
    async close() {
      await engine.close();
      await drop();
    },
  };
}

/** Row counts of every table a write can touch, and each agent's nonce: to prove nothing changed. */
export async function snapshot(engine: Engine): Promise<Record<string, unknown>> {
  const counts = await engine.db.query(
    `SELECT (SELECT count(*) FROM log_leaves)::int AS leaves, (SELECT count(*) FROM log_nodes)::int AS nodes,
            (SELECT count(*) FROM actions)::int AS actions, (SELECT count(*) FROM outcomes)::int AS outcomes,
            (SELECT coalesce(sum(size), 0)::int FROM logs) AS size`,
  );
  const nonces = await engine.db.query(
    "SELECT id, action_nonce::text AS nonce, status FROM agents ORDER BY id",
  );
  return { counts: counts[0], nonces };
}
