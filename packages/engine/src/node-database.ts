/**
 * The node's schema: every package's migrations, merged in version order, and
 * the database opened with them. The gateway, above the engine, contributes
 * its own list (`GATEWAY_MIGRATIONS` of @chaoscore/gateway) through
 * `migrations`.
 * @module
 */
import { ANCHORING_MIGRATIONS } from "@chaoscore/anchoring";
import {
  composeMigrations,
  type DatabaseOptions,
  type Db,
  LOG_MIGRATIONS,
  openDatabase as openLogDatabase,
} from "@chaoscore/log";
import { REPUTATION_MIGRATIONS } from "@chaoscore/reputation";
import { STUDIOS_MIGRATIONS } from "@chaoscore/studios";

/** The schema of the log, anchoring, reputation and studios, in version order. */
export const NODE_MIGRATIONS = composeMigrations(
  LOG_MIGRATIONS,
  ANCHORING_MIGRATIONS,
  REPUTATION_MIGRATIONS,
  STUDIOS_MIGRATIONS,
);

/**
 * Opens the database the options (or `DATABASE_URL`) point to and brings it to
 * the node's schema ({@link NODE_MIGRATIONS}, or `options.migrations`).
 * @throws ChaosCoreError STORE_UNAVAILABLE / STORE_MIGRATION_FAILED.
 */
export function openDatabase(options: DatabaseOptions = {}): Promise<Db> {
  return openLogDatabase({ ...options, migrations: options.migrations ?? NODE_MIGRATIONS });
}
