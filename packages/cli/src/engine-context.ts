import type { Hex } from "@chaoscore/core";
import type { Db, Engine } from "@chaoscore/engine";
import { type CliConfig, dataPaths, deploymentOf, readConfig, readLogKey } from "./data-dir.js";
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
  options: { snapshot?: boolean } = {},
): Promise<T> {
  const config = await readConfig(dataDir);
  const signerKey = await readLogKey(dataDir, config);
  const trustedRoots = await trustedTeeRoots(dataDir);
  const { openDatabase, inSnapshot } = await import("@chaoscore/engine");
  const db = await openDatabase({ dataDir: dataPaths(dataDir).pgdata });
  const setup = { dataDir, config, signerKey, trustedRoots };
  try {
    // A snapshot: the engine reads through one REPEATABLE READ transaction (the audit).
    return options.snapshot === true
      ? await inSnapshot(db, (tx) => onDb(setup, tx, fn))
      : await onDb(setup, db, fn);
  } finally {
    await db.close();
  }
}

/** Assembles the engine over `db` (the database or one transaction of it) and runs `fn`. */
async function onDb<T>(
  setup: { dataDir: string; config: CliConfig; signerKey: string; trustedRoots: Hex[] },
  db: Db,
  fn: (context: EngineContext) => Promise<T>,
): Promise<T> {
  const { dataDir, config, signerKey, trustedRoots } = setup;
  const { createEngine, StoredAnchorDirectory } = await import("@chaoscore/engine");
  const chainId = BigInt(config.chainId);
  const engine: Engine = await createEngine({
    db,
    chainId,
    verifyingContract: deploymentOf(config),
    log: {
      id: config.log.id,
      origin: config.log.origin,
      signerKey,
      verifierKey: config.log.verifierKey,
    },
    attestation: { mode: "optional", trustedRoots },
  });
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
  }
}
