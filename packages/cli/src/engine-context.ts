import type { Db, Engine } from "@chaoscore/engine";
import { type CliConfig, dataPaths, readConfig, readLogKey } from "./data-dir.js";
import { trustedTeeRoots } from "./tee-root.js";
import { deployedAnchors } from "./trusted-anchors.js";

/** What a command that touches the database works with. */
export type EngineContext = { config: CliConfig; chainId: bigint; engine: Engine; db: Db };

/**
 * Opens the data directory's database (PGlite in `<dir>/pgdata`, or the
 * server at DATABASE_URL), migrates it, assembles the engine, runs `fn` and
 * closes everything, also when `fn` throws.
 * @throws ChaosCoreError CLI_NOT_INITIALIZED, STORE_UNAVAILABLE, STORE_MIGRATION_FAILED.
 */
export async function withEngine<T>(
  dataDir: string,
  fn: (context: EngineContext) => Promise<T>,
): Promise<T> {
  const config = await readConfig(dataDir);
  const signerKey = await readLogKey(dataDir, config);
  const { createEngine, openDatabase, StoredAnchorDirectory } = await import("@chaoscore/engine");
  const trustedRoots = await trustedTeeRoots(dataDir);
  const db = await openDatabase({ dataDir: dataPaths(dataDir).pgdata });
  const chainId = BigInt(config.chainId);
  let engine: Engine;
  try {
    engine = await createEngine({
      db,
      chainId,
      log: {
        id: config.log.id,
        origin: config.log.origin,
        signerKey,
        verifierKey: config.log.verifierKey,
      },
      attestation: { mode: "optional", trustedRoots },
    });
  } catch (error) {
    await db.close();
    throw error;
  }
  // Receipts carry the final on-chain anchors recorded by `chaoscore anchor`.
  // Only anchors in the data dir's own deployment (chain and contract) count.
  const contract = (await deployedAnchors(dataDir)).find((a) => a.chainId === config.chainId);
  engine.agency.setAnchorDirectory(
    new StoredAnchorDirectory({
      db,
      log: engine.log,
      chainId: config.chainId,
      ...(contract === undefined ? {} : { contract: contract.contract }),
    }),
  );
  try {
    return await fn({ config, chainId, engine, db });
  } finally {
    await engine.close();
    await db.close();
  }
}
