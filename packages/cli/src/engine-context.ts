import type { Engine } from "@chaoscore/engine";
import type { Db } from "@chaoscore/log";
import type { CliConfig } from "./data-dir.js";
import { loadNodeConfig, openNode, openNodeDb } from "./node-config.js";
import { deployedAnchors } from "./trusted-anchors.js";

/** What a command that touches the database works with. */
export type EngineContext = { config: CliConfig; chainId: bigint; engine: Engine; db: Db };

/**
 * Opens the data directory's node (its database — PGlite in `<dir>/pgdata`, or
 * the server at DATABASE_URL — migrated, and the engine over it), runs `fn`
 * and closes everything, also when `fn` throws.
 * @throws ChaosCoreError CLI_NOT_INITIALIZED, STORE_UNAVAILABLE, STORE_MIGRATION_FAILED.
 */
export async function withEngine<T>(
  dataDir: string,
  fn: (context: EngineContext) => Promise<T>,
  options: { snapshot?: boolean } = {},
): Promise<T> {
  const loaded = await loadNodeConfig(dataDir);
  // Receipts carry the final on-chain anchors recorded by `chaoscore anchor`.
  // Only anchors in the data dir's own deployment (chain and contract) count.
  const contract = (await deployedAnchors(dataDir)).find((a) => a.chainId === loaded.file.chainId);
  const config = {
    ...loaded.node,
    ...(contract === undefined ? {} : { anchorContract: contract.contract }),
  };
  const run = async (db?: Db) => {
    const node = await openNode(config, db === undefined ? {} : { db });
    try {
      return await fn({
        config: loaded.file,
        chainId: node.chainId,
        engine: node.engine,
        db: node.db,
      });
    } finally {
      await node.close();
    }
  };
  if (options.snapshot !== true) return run();
  // A snapshot: the engine reads through one REPEATABLE READ transaction (the audit).
  const { inSnapshot } = await import("@chaoscore/log");
  const db = await openNodeDb(config);
  try {
    return await inSnapshot(db, (tx) => run(tx));
  } finally {
    await db.close();
  }
}
