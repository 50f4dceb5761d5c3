export * from "./agency/index.js";
export * from "./anchoring/index.js";
export { createEngine, type Engine, type EngineOptions } from "./engine.js";
export * from "./execution/index.js";
export * from "./registry/index.js";
export type { Db } from "./store/db.js";
export { MIGRATIONS, migrate } from "./store/migrations.js";
export { type DatabaseOptions, DEFAULT_DATA_DIR, openDatabase } from "./store/open-database.js";
