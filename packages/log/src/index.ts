/**
 * The log: agent registry, Proof of Agency over the transparency log, and the
 * store (PGlite or Postgres) they share. No chain dependency: anchoring plugs
 * in through the {@link AnchorDirectory} port.
 * @module
 */
export * from "./agency/index.js";
export { NODE_ED25519, useNodeEd25519 } from "./node-ed25519.js";
export * from "./registry/index.js";
export { fromDbHex, toDbHex } from "./store/bytes.js";
export type { Db } from "./store/db.js";
export {
  alwaysLeader,
  type LeaderLease,
  leaderLockKey,
  openLeaderLease,
  PostgresLeaderLease,
  type PostgresLeaderLeaseOptions,
} from "./store/leader-lease.js";
export {
  composeMigrations,
  LOG_MIGRATIONS,
  type Migration,
  migrate,
} from "./store/migrations.js";
export { type DatabaseOptions, DEFAULT_DATA_DIR, openDatabase } from "./store/open-database.js";
export { PgliteDb } from "./store/pglite-db.js";
export { PgliteWorkerDb, type PgliteWorkerOptions } from "./store/pglite-worker-db.js";
export { PostgresDb } from "./store/postgres-db.js";
export {
  logReadingFrom,
  openReplica,
  ReadReplicaDb,
  type ReadReplicaOptions,
  type ReadSides,
  type ReplicaLag,
  replicaLag,
  traceReadSides,
  verifyReplicaOf,
} from "./store/read-replica.js";
export { storeError } from "./store/store-error.js";
