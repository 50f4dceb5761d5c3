/**
 * The database layer on its own (`@chaoscore/log/store`), for components
 * with their own schema that need the same PGlite / Postgres drivers without
 * loading the engine (the witness of `@chaoscore/witness`).
 * @module
 */
export type { Db } from "./db.js";
export { PgliteDb } from "./pglite-db.js";
export { PgliteWorkerDb, type PgliteWorkerOptions } from "./pglite-worker-db.js";
export { PostgresDb } from "./postgres-db.js";
export { storeError } from "./store-error.js";
