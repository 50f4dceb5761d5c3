/**
 * The node configuration of a data directory (docs/configuration.md): its
 * config.json and log.key, the environment (DATABASE_URL, CHAOSCORE_TEE_ROOTS)
 * and the command's flags, merged into one `NodeConfig` and validated by its
 * schema. Every command that opens the data directory's node starts here.
 * The engine is loaded on first use (commands that do not open the database
 * start without it).
 * @module
 */
import { ChaosCoreError } from "@chaoscore/core";
import type { ChaosCoreNode, NodeConfig, NodeParts } from "@chaoscore/engine";
import type { Db } from "@chaoscore/log";
import { type CliConfig, dataPaths, readConfig, readLogKey } from "./data-dir.js";
import { trustedTeeRoots } from "./tee-root.js";

/** Flags that override or complete the data directory's configuration. */
export type NodeFlags = {
  /** `--database-url` (else DATABASE_URL, else PGlite in `<data-dir>/pgdata`). */
  databaseUrl?: string | undefined;
  /**
   * `--read-database-url`: a streaming replica of the Postgres server that reads go to
   * (else CHAOSCORE_READ_DATABASE_URL; docs/scaling.md "Read replicas").
   */
  readDatabaseUrl?: string | undefined;
  /** `--signature-threads`. */
  signatureThreads?: number | undefined;
  /** `--shard-max-entries` (else CHAOSCORE_SHARD_MAX_ENTRIES; 0 = never rotate). */
  shardMaxEntries?: number | undefined;
  /** `--shard-max-age` in seconds (else CHAOSCORE_SHARD_MAX_AGE; 0 = never rotate). */
  shardMaxAge?: number | undefined;
  /** The CheckpointAnchor whose stored anchors receipts carry. */
  anchorContract?: string | undefined;
};

/** The data directory's config.json and the node configuration made from it. */
export type LoadedConfig = { file: CliConfig; node: NodeConfig };

/**
 * Reads the data directory's configuration, the environment and the flags
 * into one validated {@link NodeConfig}.
 * @throws ChaosCoreError CLI_NOT_INITIALIZED, INVALID_INPUT.
 */
export async function loadNodeConfig(
  dataDir: string,
  flags: NodeFlags = {},
): Promise<LoadedConfig> {
  const file = await readConfig(dataDir);
  const signerKey = await readLogKey(dataDir, file);
  const url = flags.databaseUrl ?? process.env.DATABASE_URL ?? "";
  const readUrl = flags.readDatabaseUrl ?? process.env.CHAOSCORE_READ_DATABASE_URL ?? "";
  const shards = shardLimits(flags);
  const { parseNodeConfig } = await import("@chaoscore/engine");
  const node = parseNodeConfig(
    {
      chainId: file.chainId,
      log: { ...file.log, signerKey },
      database:
        url === ""
          ? { dataDir: dataPaths(dataDir).pgdata, ...(readUrl === "" ? {} : { readUrl }) }
          : { url, ...(readUrl === "" ? {} : { readUrl }) },
      attestation: { trustedRoots: await trustedTeeRoots(dataDir) },
      ...(flags.signatureThreads === undefined ? {} : { signatureThreads: flags.signatureThreads }),
      ...(shards === undefined ? {} : { shards }),
      ...(flags.anchorContract === undefined ? {} : { anchorContract: flags.anchorContract }),
    },
    dataDir,
  );
  return { file, node };
}

/**
 * Checks the settings of `flags` (and of their environment variables) that
 * need no data directory — the shard rotation limits, and that a read
 * replica has a Postgres primary — so that a command can refuse them before
 * it writes anything (`serve` initializes the data directory on first start).
 * @throws ChaosCoreError INVALID_INPUT.
 * @example
 * ```ts
 * checkNodeFlags({ shardMaxEntries: 1 }); // throws: 0 (never) or an integer ≥ 2
 * ```
 */
export function checkNodeFlags(flags: NodeFlags): void {
  shardLimits(flags);
  const url = flags.databaseUrl ?? process.env.DATABASE_URL ?? "";
  const readUrl = flags.readDatabaseUrl ?? process.env.CHAOSCORE_READ_DATABASE_URL ?? "";
  if (readUrl !== "" && url === "") {
    const name =
      flags.readDatabaseUrl === undefined ? "CHAOSCORE_READ_DATABASE_URL" : "--read-database-url";
    throw new ChaosCoreError(
      "INVALID_INPUT",
      `${name} (a streaming replica to read from) needs --database-url or DATABASE_URL (its Postgres primary): the embedded PGlite database has no replica`,
      { details: { [name]: readUrl } },
    );
  }
}

/**
 * The shard rotation limits of the flags, else the environment
 * (CHAOSCORE_SHARD_MAX_ENTRIES, CHAOSCORE_SHARD_MAX_AGE); undefined when none is set.
 * @throws ChaosCoreError INVALID_INPUT when a variable is not a whole number, or max entries is 1.
 */
function shardLimits(
  flags: NodeFlags,
): { maxEntries?: number; maxAgeSeconds?: number } | undefined {
  const fromEnv = (name: string): number | undefined => {
    const value = process.env[name];
    if (value === undefined || value === "") return undefined;
    if (!/^[0-9]{1,15}$/.test(value)) {
      throw new ChaosCoreError("INVALID_INPUT", `${name} is a whole number (0 = never)`, {
        details: { [name]: value },
      });
    }
    return Number(value);
  };
  const maxEntries = flags.shardMaxEntries ?? fromEnv("CHAOSCORE_SHARD_MAX_ENTRIES");
  const maxAgeSeconds = flags.shardMaxAge ?? fromEnv("CHAOSCORE_SHARD_MAX_AGE");
  if (maxEntries === 1) {
    // a shard holds its link entry and at least one entry more (docs/spec/shards.md §5)
    const name =
      flags.shardMaxEntries === undefined ? "CHAOSCORE_SHARD_MAX_ENTRIES" : "--shard-max-entries";
    throw new ChaosCoreError("INVALID_INPUT", `${name} is 0 (never) or an integer ≥ 2`, {
      details: { [name]: maxEntries },
    });
  }
  if (maxEntries === undefined && maxAgeSeconds === undefined) return undefined;
  return {
    ...(maxEntries === undefined ? {} : { maxEntries }),
    ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }),
  };
}

/** The tables of the parts above the engine a CLI node has: the gateway's (API keys, nonces). */
async function cliMigrations() {
  return [(await import("@chaoscore/gateway/migrations")).GATEWAY_MIGRATIONS];
}

/**
 * The CLI's composition root: `createNode` of @chaoscore/engine with the
 * gateway's tables too (the CLI serves the gateway and manages its API keys).
 */
export async function openNode(config: NodeConfig, parts: NodeParts = {}): Promise<ChaosCoreNode> {
  const { createNode } = await import("@chaoscore/engine");
  return createNode(config, {
    ...parts,
    migrations: [...(await cliMigrations()), ...(parts.migrations ?? [])],
  });
}

/** Opens and migrates the database of {@link openNode} alone (to assemble a node over a transaction). */
export async function openNodeDb(config: NodeConfig): Promise<Db> {
  const { openNodeDatabase } = await import("@chaoscore/engine");
  return openNodeDatabase(config, await cliMigrations());
}
