/**
 * The read side of a node with a read replica (issue 18 item 4,
 * docs/scaling.md "Read replicas"): the log, Proof of Agency's queries and
 * receipts, the registry and the stored anchors, each over a
 * {@link ReadReplicaDb} (the replica, falling back to the primary). Nothing
 * here writes: writes go through the engine, on the primary.
 * @module
 */
import { StoredAnchorDirectory } from "@chaoscore/anchoring";
import {
  AgentRegistry,
  type Db,
  logReadingFrom,
  ProofOfAgency,
  ReadReplicaDb,
  type ReadReplicaOptions,
  type TransparencyLog,
} from "@chaoscore/log";
import type { Engine } from "./engine.js";

/** Components that read from the replica (falling back to the primary). */
export type ReadEngine = {
  /** The replica, falling back to the primary (its `replica` is the replica alone, for its lag). */
  db: ReadReplicaDb;
  log: TransparencyLog;
  registry: AgentRegistry;
  /** Queries and receipts (its writer is never used). */
  agency: ProofOfAgency;
  /** The anchors stored in the database, as the node's own directory filters them. */
  anchors: StoredAnchorDirectory;
  /** Closes the replica's pool. */
  close(): Promise<void>;
};

/**
 * Assembles the read side of `engine` over `replica` (a read-only handle:
 * `openReplica` of @chaoscore/log), falling back to the engine's database.
 */
export function createReadEngine(
  engine: Engine,
  replica: Db,
  options: { chainId: string; anchorContract?: string | undefined } & ReadReplicaOptions,
): ReadEngine {
  const { chainId, anchorContract, ...fallback } = options;
  const db = new ReadReplicaDb(replica, engine.db, fallback);
  const log = logReadingFrom(engine.log, db);
  const registry = new AgentRegistry({
    db,
    chainId: engine.agency.chainId,
    verifyingContract: engine.agency.verifyingContract,
  });
  const anchors = new StoredAnchorDirectory({
    db,
    log,
    family: engine.logs,
    chainId,
    ...(anchorContract === undefined ? {} : { contract: anchorContract }),
  });
  const agency = new ProofOfAgency({
    db,
    log,
    agents: registry,
    chainId: engine.agency.chainId,
    verifyingContract: engine.agency.verifyingContract,
    outcomePolicy: engine.agency.outcomePolicy,
    limits: engine.agency.limits,
    anchors,
  });
  return { db, log, registry, agency, anchors, close: () => db.close() };
}
