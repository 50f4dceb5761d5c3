import { ChaosCoreError } from "@chaoscore/core";
import type { Db } from "./db.js";

/** One schema change. Migrations are append-only: never edit one that has shipped. */
export type Migration = { readonly version: number; readonly name: string; readonly sql: string };

/**
 * The log's schema: the registry, the transparency log and Proof of Agency.
 * The other packages own theirs (anchoring, reputation, studios, gateway:
 * each a `migrations.ts`) and the composition root merges them
 * ({@link composeMigrations}). Versions are global across the packages and
 * never reused, so a database migrated before the split opens unchanged.
 * The same SQL runs on PGlite and on a Postgres server.
 */
export const LOG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "registry, log and proof of agency",
    sql: `
CREATE TABLE agents (
  id             text PRIMARY KEY,
  signer         text NOT NULL,
  public_key     text NOT NULL,
  status         text NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
  card           jsonb NOT NULL,
  card_hash      bytea NOT NULL,
  card_version   integer NOT NULL,
  name           text NOT NULL,
  owner          text,
  capabilities   text[] NOT NULL,
  registry_nonce numeric(20, 0) NOT NULL,
  action_nonce   numeric(20, 0),
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL
);
CREATE INDEX agents_capabilities_idx ON agents USING gin (capabilities);
CREATE INDEX agents_owner_idx ON agents (owner);
CREATE INDEX agents_status_idx ON agents (status);

CREATE TABLE agent_card_versions (
  agent_id   text NOT NULL REFERENCES agents (id),
  version    integer NOT NULL,
  card       jsonb NOT NULL,
  card_hash  bytea NOT NULL,
  message    jsonb NOT NULL,
  signature  text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (agent_id, version)
);

CREATE TABLE agent_keys (
  agent_id   text NOT NULL REFERENCES agents (id),
  seq        integer NOT NULL,
  signer     text NOT NULL,
  public_key text NOT NULL,
  rotation   jsonb,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (agent_id, seq)
);

CREATE TABLE agent_status_changes (
  agent_id   text NOT NULL REFERENCES agents (id),
  seq        integer NOT NULL,
  status     text NOT NULL,
  reason     text,
  proof      jsonb,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (agent_id, seq)
);

CREATE TABLE agent_challenges (
  challenge   text PRIMARY KEY,
  agent_id    text NOT NULL REFERENCES agents (id),
  expires_at  timestamptz NOT NULL,
  answered_at timestamptz
);

CREATE TABLE logs (
  id           text PRIMARY KEY,
  origin       text NOT NULL UNIQUE,
  verifier_key text NOT NULL,
  size         bigint NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE log_leaves (
  log_id text NOT NULL REFERENCES logs (id),
  idx    bigint NOT NULL,
  entry  bytea NOT NULL,
  PRIMARY KEY (log_id, idx)
);

-- Complete subtrees of the RFC 9162 tree: level 0 holds the leaf hashes, the
-- node (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level).
CREATE TABLE log_nodes (
  log_id text NOT NULL REFERENCES logs (id),
  level  smallint NOT NULL,
  idx    bigint NOT NULL,
  hash   bytea NOT NULL,
  PRIMARY KEY (log_id, level, idx)
);

CREATE TABLE log_checkpoints (
  log_id     text NOT NULL REFERENCES logs (id),
  size       bigint NOT NULL,
  root_hash  bytea NOT NULL,
  note       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (log_id, size)
);

CREATE TABLE actions (
  id           bytea PRIMARY KEY,
  log_id       text NOT NULL REFERENCES logs (id),
  leaf_index   bigint NOT NULL,
  agent_id     text NOT NULL REFERENCES agents (id),
  studio       text NOT NULL,
  task         text NOT NULL,
  action_type  text NOT NULL,
  nonce        numeric(20, 0) NOT NULL,
  ts           timestamptz NOT NULL,
  payload      bytea,
  payload_hash bytea NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (log_id, leaf_index)
);
CREATE INDEX actions_agent_idx ON actions (agent_id, leaf_index);
CREATE INDEX actions_studio_idx ON actions (studio, leaf_index);
CREATE INDEX actions_task_idx ON actions (task, leaf_index);
CREATE INDEX actions_type_idx ON actions (action_type, leaf_index);
CREATE INDEX actions_ts_idx ON actions (ts, leaf_index);

CREATE TABLE outcomes (
  id          bytea PRIMARY KEY,
  action_id   bytea NOT NULL UNIQUE REFERENCES actions (id),
  log_id      text NOT NULL REFERENCES logs (id),
  leaf_index  bigint NOT NULL,
  evaluator   text NOT NULL REFERENCES agents (id),
  status      text NOT NULL,
  result_hash bytea NOT NULL,
  metrics     bytea NOT NULL,
  ts          timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (log_id, leaf_index)
);
`,
  },
  {
    version: 2,
    name: "attested actions",
    sql: `
-- The attestation quote (chaoscore.attestation/v1, canonical JSON) of an
-- action whose attestationHash is not zero; receipts carry it.
ALTER TABLE actions ADD COLUMN attestation bytea;
`,
  },
  {
    version: 8,
    name: "log: witness cosignatures of checkpoints (C2SP tlog-cosignature)",
    sql: `
CREATE TABLE log_cosignatures (
  log_id     text NOT NULL,
  size       bigint NOT NULL,
  witness    text NOT NULL,
  line       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (log_id, size, witness),
  FOREIGN KEY (log_id, size) REFERENCES log_checkpoints (log_id, size)
);
`,
  },
  {
    version: 11,
    name: "agency: several outcomes per action, one per evaluator (issue 19 item 4)",
    sql: `
ALTER TABLE outcomes DROP CONSTRAINT outcomes_action_id_key;
CREATE UNIQUE INDEX outcomes_action_evaluator_key ON outcomes (action_id, evaluator);
`,
  },
  {
    version: 13,
    name: "log: shards of a log family (issue 18 item 2, docs/spec/shards.md)",
    sql: `
-- A log family is a chain of shards: shard 0 is the row that existed before
-- (family_id = id, state active, unchanged); shard n >= 1 has id
-- '<family>-s<n>' and origin '<family origin>/s<n>'. Exactly one shard of a
-- family is active; a frozen shard keeps its final size and names its successor.
ALTER TABLE logs ADD COLUMN family_id text REFERENCES logs (id);
ALTER TABLE logs ADD COLUMN shard integer NOT NULL DEFAULT 0 CHECK (shard >= 0);
ALTER TABLE logs ADD COLUMN state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'frozen'));
ALTER TABLE logs ADD COLUMN frozen_size bigint;
ALTER TABLE logs ADD COLUMN frozen_at timestamptz;
ALTER TABLE logs ADD COLUMN successor text REFERENCES logs (id);
-- The shard certificate (a signed note by the family key; NULL for shard 0).
ALTER TABLE logs ADD COLUMN certificate text;
UPDATE logs SET family_id = id;
ALTER TABLE logs ALTER COLUMN family_id SET NOT NULL;
-- A row inserted without a family (TransparencyLog.open, older tools) is shard 0 of its own.
CREATE FUNCTION logs_default_family() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.family_id IS NULL THEN NEW.family_id := NEW.id; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER logs_default_family BEFORE INSERT ON logs
  FOR EACH ROW EXECUTE FUNCTION logs_default_family();
CREATE UNIQUE INDEX logs_family_shard_key ON logs (family_id, shard);
CREATE UNIQUE INDEX logs_family_active_key ON logs (family_id) WHERE state = 'active';
ALTER TABLE logs ADD CONSTRAINT logs_frozen_check CHECK (
  (state = 'active' AND frozen_size IS NULL AND frozen_at IS NULL AND successor IS NULL)
  OR (state = 'frozen' AND frozen_size IS NOT NULL AND frozen_at IS NOT NULL));
`,
  },
  {
    version: 14,
    name: "log: tree nodes stored at the tile levels only (issue 14, agency/stored-nodes.ts)",
    sql: `
-- log_nodes keeps the complete subtrees at levels 0, 8, 16, … (the hashes
-- tlog-tiles serves); the others are computed from them when read.
DELETE FROM log_nodes WHERE level % 8 <> 0;
COMMENT ON TABLE log_nodes IS
  'Complete subtrees of the RFC 9162 tree at levels 0, 8, 16, ...: node (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level); level 0 holds the leaf hashes';
`,
  },
  {
    version: 15,
    name: "log: tree nodes stored at levels 12, 20, 28, … too (issue 14, agency/stored-nodes.ts)",
    sql: `
-- log_nodes keeps levels 0, 8, 12, 16, 20, …: a level between two tile levels
-- bounds what a proof reads above level 8 (≤ 15 nodes per four levels). The
-- nodes of a log written before this version are computed here from the
-- tile level below them: four rounds of RFC 9162 hashing,
-- SHA-256(0x01 || left || right), a node only where both children exist
-- (complete subtrees only).
CREATE TEMP TABLE migrating_nodes AS
  SELECT log_id, level, idx, hash FROM log_nodes WHERE level >= 8 AND level % 8 = 0;
DO $$
BEGIN
  FOR step IN 1..4 LOOP
    CREATE TEMP TABLE migrating_next AS
      SELECT a.log_id, (a.level + 1)::smallint AS level, a.idx / 2 AS idx,
             sha256(decode('01', 'hex') || a.hash || b.hash) AS hash
      FROM migrating_nodes a
      JOIN migrating_nodes b ON b.log_id = a.log_id AND b.level = a.level AND b.idx = a.idx + 1
      WHERE a.idx % 2 = 0;
    DROP TABLE migrating_nodes;
    ALTER TABLE migrating_next RENAME TO migrating_nodes;
  END LOOP;
END $$;
INSERT INTO log_nodes (log_id, level, idx, hash)
  SELECT log_id, level, idx, hash FROM migrating_nodes ON CONFLICT DO NOTHING;
DROP TABLE migrating_nodes;
COMMENT ON TABLE log_nodes IS
  'Complete subtrees of the RFC 9162 tree at levels 0, 8, 12, 16, 20, ...: node (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level); level 0 holds the leaf hashes';
`,
  },
];

/**
 * Merges the migration lists of several packages into one, in version order.
 * @throws ChaosCoreError STORE_MIGRATION_FAILED when two entries share a version.
 */
export function composeMigrations(...lists: readonly (readonly Migration[])[]): Migration[] {
  const all = lists.flat().sort((a, b) => a.version - b.version);
  for (let i = 1; i < all.length; i++) {
    const [before, m] = [all[i - 1] as Migration, all[i] as Migration];
    if (before.version === m.version) {
      throw new ChaosCoreError(
        "STORE_MIGRATION_FAILED",
        `migration ${m.version} is defined twice (${before.name}; ${m.name})`,
        { details: { version: m.version } },
      );
    }
  }
  return all;
}

/**
 * Brings the schema up to date with `migrations` (default the log's own), in
 * version order, skipping the versions already applied. Safe to call from
 * several processes at once (an advisory lock serializes them) and idempotent.
 * @returns the versions applied by this call.
 * @throws ChaosCoreError STORE_MIGRATION_FAILED when a migration fails (nothing of it is kept).
 */
export async function migrate(
  db: Db,
  migrations: readonly Migration[] = LOG_MIGRATIONS,
): Promise<number[]> {
  const ordered = composeMigrations(migrations);
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(7271727)");
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const rows = await tx.query<{ version: number }>("SELECT version FROM schema_migrations");
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of ordered) {
      if (done.has(m.version)) continue;
      try {
        await tx.exec(m.sql);
      } catch (cause) {
        throw new ChaosCoreError("STORE_MIGRATION_FAILED", `migration ${m.version} failed`, {
          cause,
          details: { version: m.version, name: m.name },
        });
      }
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    return applied;
  });
}
