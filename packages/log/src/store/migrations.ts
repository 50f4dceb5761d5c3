import { ChaosCoreError } from "@chaoscore/core";
import type { Db } from "./db.js";

/** One schema change. Migrations are append-only: never edit one that has shipped. */
export type Migration = { readonly version: number; readonly name: string; readonly sql: string };

/** The schema, in order. The same SQL runs on PGlite and on a Postgres server. */
export const MIGRATIONS: readonly Migration[] = [
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
  {
    version: 4,
    name: "reputation scores, contributions, trust and epochs",
    sql: `
-- Reputation (docs/reputation.md). Every row below is derived: recompute()
-- rebuilds it from the log (actions, outcomes) and reputation_feedback.

-- Feedback given outside the log (not signed): the rater, the subject, a
-- value in [0, 1], a dimension, and optionally the subject's action it is about.
CREATE TABLE reputation_feedback (
  id         bytea PRIMARY KEY,
  rater      text NOT NULL REFERENCES agents (id),
  subject    text NOT NULL REFERENCES agents (id),
  dimension  text NOT NULL,
  value      double precision NOT NULL CHECK (value >= 0 AND value <= 1),
  evidence   bytea REFERENCES actions (id),
  ts         double precision NOT NULL,
  seq        bigserial NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per piece of evidence (an outcome or a feedback): what explain() lists.
CREATE TABLE reputation_contributions (
  id         bytea PRIMARY KEY,
  source     text NOT NULL CHECK (source IN ('outcome', 'feedback')),
  action_id  bytea,
  agent      text NOT NULL,
  rater      text NOT NULL,
  capability text,
  studio     text,
  x          double precision NOT NULL,
  evidence   text NOT NULL,
  e          double precision NOT NULL,
  t          double precision NOT NULL
);
CREATE INDEX reputation_contributions_agent_idx ON reputation_contributions (agent, t);
CREATE INDEX reputation_contributions_capability_idx
  ON reputation_contributions (agent, capability, t) WHERE capability IS NOT NULL;
CREATE INDEX reputation_contributions_studio_idx
  ON reputation_contributions (agent, studio, t) WHERE studio IS NOT NULL;

-- The Beta score of each (agent, dimension); alpha and beta are as of last_update.
CREATE TABLE reputation_scores (
  agent       text NOT NULL,
  dimension   text NOT NULL,
  alpha       double precision NOT NULL,
  beta        double precision NOT NULL,
  samples     bigint NOT NULL,
  n_outcome   bigint NOT NULL,
  n_linked    bigint NOT NULL,
  n_unlinked  bigint NOT NULL,
  n_self      bigint NOT NULL,
  last_update double precision NOT NULL,
  PRIMARY KEY (agent, dimension)
);
CREATE INDEX reputation_scores_dimension_idx ON reputation_scores (dimension);

-- Epochs: the EigenTrust run and the Merkle root committing every score.
CREATE TABLE reputation_epochs (
  epoch       integer PRIMARY KEY,
  root        bytea NOT NULL,
  size        bigint NOT NULL,
  as_of       double precision NOT NULL,
  pre_trusted jsonb NOT NULL,
  params      jsonb NOT NULL,
  iterations  integer NOT NULL,
  residual    double precision NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The global trust of each rater with trust > 0, per epoch, and its weight.
CREATE TABLE reputation_trust (
  epoch  integer NOT NULL,
  rater  text NOT NULL,
  trust  double precision NOT NULL,
  weight double precision NOT NULL,
  PRIMARY KEY (epoch, rater)
);

-- The committed leaves of each epoch (canonical JSON) and the tree's complete subtrees.
CREATE TABLE reputation_epoch_scores (
  epoch     integer NOT NULL,
  idx       bigint NOT NULL,
  agent     text NOT NULL,
  dimension text NOT NULL,
  leaf      bytea NOT NULL,
  PRIMARY KEY (epoch, idx),
  UNIQUE (agent, dimension, epoch)
);
CREATE TABLE reputation_epoch_nodes (
  epoch integer NOT NULL,
  level smallint NOT NULL,
  idx   bigint NOT NULL,
  hash  bytea NOT NULL,
  PRIMARY KEY (epoch, level, idx)
);
`,
  },
  {
    version: 5,
    name: "studios, members, tasks and the governance studio",
    sql: `
-- A studio: a configured environment where agents work on tasks. The state
-- here is derived from signed actions in the log (studio.task.*,
-- governance.*): each row keeps the id of the action that produced it.
CREATE TABLE studios (
  id             text PRIMARY KEY,
  kind           text NOT NULL,
  name           text NOT NULL,
  operator       text NOT NULL REFERENCES agents (id),
  config         jsonb NOT NULL,
  rules          jsonb NOT NULL,
  reward_policy  jsonb NOT NULL,
  spent          numeric(78, 0) NOT NULL DEFAULT 0,
  status         text NOT NULL CHECK (status IN ('active', 'archived')),
  version        integer NOT NULL,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL
);
CREATE INDEX studios_kind_idx ON studios (kind, status);

CREATE TABLE studio_members (
  studio_id  text NOT NULL REFERENCES studios (id),
  agent_id   text NOT NULL REFERENCES agents (id),
  roles      text[] NOT NULL,
  added_at   timestamptz NOT NULL,
  PRIMARY KEY (studio_id, agent_id)
);

CREATE TABLE studio_tasks (
  studio_id      text NOT NULL REFERENCES studios (id),
  id             text NOT NULL,
  title          text NOT NULL,
  role           text NOT NULL,
  capabilities   text[] NOT NULL,
  min_reputation double precision,
  input          jsonb,
  state          text NOT NULL CHECK (state IN ('open', 'assigned', 'running', 'submitted',
                   'evaluated', 'rewarded', 'failed', 'expired')),
  assignee       text,
  deadline       bigint,
  max_retries    integer NOT NULL,
  retries        integer NOT NULL DEFAULT 0,
  result         jsonb,
  submit_action  bytea,
  verdict        text,
  score          double precision,
  reward         numeric(78, 0),
  payout_id      text,
  seq            integer NOT NULL,
  last_action    bytea NOT NULL,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (studio_id, id)
);
CREATE INDEX studio_tasks_state_idx ON studio_tasks (studio_id, state);

CREATE TABLE studio_task_deps (
  studio_id  text NOT NULL,
  task_id    text NOT NULL,
  depends_on text NOT NULL,
  PRIMARY KEY (studio_id, task_id, depends_on),
  FOREIGN KEY (studio_id, task_id) REFERENCES studio_tasks (studio_id, id),
  FOREIGN KEY (studio_id, depends_on) REFERENCES studio_tasks (studio_id, id)
);

-- Every transition of every task, in order; action_id is the signed action.
CREATE TABLE studio_task_transitions (
  studio_id   text NOT NULL,
  task_id     text NOT NULL,
  seq         integer NOT NULL,
  transition  text NOT NULL,
  from_state  text,
  to_state    text NOT NULL,
  actor       text NOT NULL,
  action_id   bytea NOT NULL,
  at          timestamptz NOT NULL,
  PRIMARY KEY (studio_id, task_id, seq),
  FOREIGN KEY (studio_id, task_id) REFERENCES studio_tasks (studio_id, id)
);

-- The mock DAO of a governance studio, and its proposals and votes.
CREATE TABLE governance_daos (
  studio_id   text PRIMARY KEY REFERENCES studios (id),
  state       jsonb NOT NULL,
  version     integer NOT NULL,
  updated_at  timestamptz NOT NULL
);

CREATE TABLE governance_proposals (
  studio_id      text NOT NULL REFERENCES studios (id),
  id             text NOT NULL,
  proposal       jsonb NOT NULL,
  state          text NOT NULL CHECK (state IN ('voting', 'passed', 'rejected', 'executed')),
  voting_ends_at bigint NOT NULL,
  tally          jsonb,
  dao_before     jsonb,
  dao_after      jsonb,
  last_action    bytea NOT NULL,
  actions        jsonb NOT NULL,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  PRIMARY KEY (studio_id, id)
);

CREATE TABLE governance_votes (
  studio_id    text NOT NULL,
  proposal_id  text NOT NULL,
  agent_id     text NOT NULL REFERENCES agents (id),
  choice       text NOT NULL CHECK (choice IN ('for', 'against', 'abstain')),
  reason       text NOT NULL,
  action_id    bytea NOT NULL,
  at           timestamptz NOT NULL,
  PRIMARY KEY (studio_id, proposal_id, agent_id),
  FOREIGN KEY (studio_id, proposal_id) REFERENCES governance_proposals (studio_id, id)
);
`,
  },
  {
    version: 6,
    name: "gateway: operator API keys, request nonces, idempotency keys",
    sql: `
CREATE TABLE api_keys (
  id          text PRIMARY KEY,
  secret_hash bytea NOT NULL,
  scopes      text[] NOT NULL,
  label       text NOT NULL,
  created_at  timestamptz NOT NULL,
  revoked_at  timestamptz
);

CREATE TABLE request_nonces (
  agent_id   text NOT NULL,
  nonce      bytea NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (agent_id, nonce)
);
CREATE INDEX request_nonces_expiry_idx ON request_nonces (expires_at);

CREATE TABLE idempotency_keys (
  principal    text NOT NULL,
  key          text NOT NULL,
  request_hash bytea NOT NULL,
  status       integer NOT NULL,
  response     jsonb NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
`,
  },
  {
    version: 7,
    name: "reputation: the pre-trusted raters, shared by every process",
    sql: `
CREATE TABLE reputation_pre_trusted (
  agent_id text PRIMARY KEY,
  added_at timestamptz NOT NULL
);
`,
  },
  {
    version: 10,
    name: "gateway: idempotency reservations are leases renewed by the running request; keys expire",
    sql: `
ALTER TABLE idempotency_keys ADD COLUMN holder text;
ALTER TABLE idempotency_keys ADD COLUMN lease_until timestamptz;
UPDATE idempotency_keys SET lease_until = created_at + interval '60 seconds' WHERE status = 0;
CREATE INDEX idempotency_keys_lease_idx ON idempotency_keys (lease_until) WHERE status = 0;
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
    version: 12,
    name: "studio: a task's payout is claimed in the database before it is paid (issue 19 item 15)",
    sql: `
ALTER TABLE studio_tasks ADD COLUMN payout_claim text;
`,
  },
];

/**
 * Brings the schema up to date. Safe to call from several processes at once
 * (an advisory lock serializes them) and idempotent.
 * @returns the versions applied by this call.
 * @throws ChaosCoreError STORE_MIGRATION_FAILED when a migration fails (nothing of it is kept).
 */
export async function migrate(db: Db): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(7271727)");
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const rows = await tx.query<{ version: number }>("SELECT version FROM schema_migrations");
    const done = new Set(rows.map((r) => Number(r.version)));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
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
