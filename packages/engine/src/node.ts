/**
 * The composition root: {@link createNode} opens the store with every
 * package's migrations, assembles the engine and, given a chain, its
 * anchoring. `chaoscore serve`, the CLI's commands, the demo and the test kit
 * all start here.
 * @module
 */
import { type AnchoringChain, StoredAnchorDirectory } from "@chaoscore/anchoring";
import { ChaosCoreError, deploymentAddress, type Hex } from "@chaoscore/core";
import { composeMigrations, type Db, type Migration, openReplica } from "@chaoscore/log";
import { createEngine, type Engine, type EngineOptions } from "./engine.js";
import { type NodeConfig, parseNodeConfig } from "./node-config.js";
import { NODE_MIGRATIONS, openDatabase } from "./node-database.js";
import { createReadEngine, type ReadEngine } from "./read-engine.js";

/** What a node is assembled from besides its configuration: the live parts. */
export type NodeParts = {
  /**
   * Use this database (or one transaction of it) instead of opening
   * `config.database`; it is neither migrated nor closed by the node.
   */
  db?: Db;
  /** The migrations of the parts above the engine (the gateway's), merged with the node's. */
  migrations?: readonly (readonly Migration[])[];
  /** The chain to anchor checkpoints and agent cards on: the node gets an anchoring service. */
  chain?: AnchoringChain & { confirmations?: number };
  /**
   * Receipts carry the final anchors stored in the database (default true, when there is
   * no chain): the anchors `chaoscore anchor` or another process recorded.
   */
  storedAnchors?: boolean;
  /** Engine settings that are not configuration (limits, clock, batch size, policies). */
  engine?: Partial<Omit<EngineOptions, "db" | "chain">>;
};

/** A running node: the configuration it was made from, its database and engine. */
export type ChaosCoreNode = {
  config: NodeConfig;
  chainId: bigint;
  db: Db;
  engine: Engine;
  /** The anchors stored in the database, on this chain (and `anchorContract`). */
  anchors: StoredAnchorDirectory;
  /**
   * The read side on the replica (`config.database.readUrl`), falling back to
   * the primary; undefined without a replica.
   */
  reads: ReadEngine | undefined;
  /** Stops the engine and closes the database when the node opened it. */
  close(): Promise<void>;
};

/**
 * Opens and migrates the database a node configuration points to: the node's
 * migrations and `migrations` (those of the parts above the engine), merged.
 * @throws ChaosCoreError STORE_UNAVAILABLE, STORE_MIGRATION_FAILED.
 */
export function openNodeDatabase(
  config: NodeConfig,
  migrations: readonly (readonly Migration[])[] = [],
): Promise<Db> {
  return openDatabase({
    databaseUrl: config.database.url ?? null,
    dataDir: config.database.dataDir,
    schema: config.database.schema,
    migrations: composeMigrations(NODE_MIGRATIONS, ...migrations),
  });
}

/**
 * Assembles a node from its configuration (checked against
 * `NodeConfigSchema`): opens and migrates the database, creates the engine
 * (registry, log, Proof of Agency and, with `parts.chain`, anchoring).
 * @throws ChaosCoreError INVALID_INPUT (configuration), STORE_UNAVAILABLE, STORE_MIGRATION_FAILED.
 */
export async function createNode(
  configuration: NodeConfig,
  parts: NodeParts = {},
): Promise<ChaosCoreNode> {
  const config = parseNodeConfig(configuration);
  const chainId = BigInt(config.chainId);
  if (config.database.readUrl !== undefined && config.database.url === undefined) {
    throw new ChaosCoreError(
      "INVALID_INPUT",
      "database.readUrl (a read replica) needs database.url (its Postgres primary)",
      { details: { field: "/database/readUrl" } },
    );
  }
  const db = parts.db ?? (await openNodeDatabase(config, parts.migrations));
  try {
    const engine = await createEngine({
      chainId,
      verifyingContract: (config.verifyingContract ??
        deploymentAddress(config.log.verifierKey)) as Hex,
      log: config.log,
      ...(config.attestation === undefined
        ? {}
        : {
            attestation: {
              mode: "optional",
              trustedRoots: config.attestation.trustedRoots as Hex[],
            },
          }),
      ...(config.signatureThreads === undefined
        ? {}
        : { signatureThreads: config.signatureThreads }),
      ...(config.shards === undefined ? {} : { shards: config.shards }),
      ...parts.engine,
      db,
      ...(parts.chain === undefined ? {} : { chain: parts.chain }),
    });
    const anchors = new StoredAnchorDirectory({
      db,
      log: engine.log,
      family: engine.logs,
      chainId: config.chainId,
      ...(config.anchorContract === undefined ? {} : { contract: config.anchorContract }),
    });
    if (engine.anchoring === undefined && parts.storedAnchors !== false) {
      engine.agency.setAnchorDirectory(anchors);
    }
    // A read replica: opened lazily (a replica that is down is no reason not to start).
    const readUrl = config.database.readUrl;
    const reads =
      readUrl === undefined
        ? undefined
        : createReadEngine(
            engine,
            openReplica(
              readUrl,
              config.database.schema === undefined ? {} : { schema: config.database.schema },
            ),
            { chainId: config.chainId, anchorContract: config.anchorContract },
          );
    if (reads !== undefined && engine.anchoring === undefined && parts.storedAnchors === false) {
      reads.agency.setAnchorDirectory(undefined);
    }
    return {
      config,
      chainId,
      db,
      engine,
      anchors,
      reads,
      close: async () => {
        await reads?.close();
        await engine.close();
        if (parts.db === undefined) await db.close();
      },
    };
  } catch (error) {
    if (parts.db === undefined) await db.close();
    throw error;
  }
}
