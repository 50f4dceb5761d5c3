import type { Migration } from "@chaoscore/log";

/**
 * The studios package's schema: studios, members, tasks, the governance studio and payout claims.
 * Versions are global across the packages (never reuse one: see
 * `composeMigrations` in @chaoscore/log); the composition root applies this
 * list with the others, in version order. Append-only: never edit a shipped entry.
 */
export const STUDIOS_MIGRATIONS: readonly Migration[] = [
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
    version: 12,
    name: "studio: a task's payout is claimed in the database before it is paid (issue 19 item 15)",
    sql: `
ALTER TABLE studio_tasks ADD COLUMN payout_claim text;
`,
  },
];
