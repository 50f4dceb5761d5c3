import type { Migration } from "@chaoscore/log";

/**
 * The anchoring package's schema: anchors of checkpoints and agent cards on chain.
 * Versions are global across the packages (never reuse one: see
 * `composeMigrations` in @chaoscore/log); the composition root applies this
 * list with the others, in version order. Append-only: never edit a shipped entry.
 */
export const ANCHORING_MIGRATIONS: readonly Migration[] = [
  {
    version: 3,
    name: "on-chain anchors of checkpoints and agent cards",
    sql: `
-- One row per attempt to anchor a checkpoint (size, root) of a log on a
-- CheckpointAnchor contract. pending: being sent or in the pool; mined: in a
-- block; final: N confirmations; dropped: never mined, reverted or reorged
-- away (kept as history). At most one live (not dropped) row per size.
CREATE TABLE anchors (
  id             bigserial PRIMARY KEY,
  log_id         text NOT NULL REFERENCES logs (id),
  size           bigint NOT NULL,
  root           bytea NOT NULL,
  chain_id       text NOT NULL,
  contract       text NOT NULL,
  anchor_index   bigint,
  tx_hash        text,
  block_number   bigint,
  block_hash     text,
  status         text NOT NULL CHECK (status IN ('pending', 'mined', 'final', 'dropped')),
  attempts       integer NOT NULL DEFAULT 0,
  last_error     text,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX anchors_live_idx ON anchors (log_id, chain_id, contract, size)
  WHERE status <> 'dropped';
CREATE INDEX anchors_status_idx ON anchors (status, log_id);

-- Agent card hashes registered (or updated) in an IdentityRegistry contract.
CREATE TABLE agent_anchors (
  id             bigserial PRIMARY KEY,
  agent_id       text NOT NULL REFERENCES agents (id),
  card_version   integer NOT NULL,
  card_hash      bytea NOT NULL,
  chain_id       text NOT NULL,
  contract       text NOT NULL,
  token_id       numeric(78, 0),
  chain_version  bigint,
  tx_hash        text,
  block_number   bigint,
  block_hash     text,
  status         text NOT NULL CHECK (status IN ('pending', 'mined', 'final', 'dropped')),
  attempts       integer NOT NULL DEFAULT 0,
  last_error     text,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL
);
CREATE UNIQUE INDEX agent_anchors_live_idx ON agent_anchors (agent_id, chain_id, contract, card_version)
  WHERE status <> 'dropped';
`,
  },
];
