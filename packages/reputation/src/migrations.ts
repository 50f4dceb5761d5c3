import type { Migration } from "@chaoscore/log";

/**
 * The reputation package's schema: scores, contributions, trust, epochs and the pre-trusted raters.
 * Versions are global across the packages (never reuse one: see
 * `composeMigrations` in @chaoscore/log); the composition root applies this
 * list with the others, in version order. Append-only: never edit a shipped entry.
 */
export const REPUTATION_MIGRATIONS: readonly Migration[] = [
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
    version: 7,
    name: "reputation: the pre-trusted raters, shared by every process",
    sql: `
CREATE TABLE reputation_pre_trusted (
  agent_id text PRIMARY KEY,
  added_at timestamptz NOT NULL
);
`,
  },
];
