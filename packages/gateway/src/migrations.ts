import type { Migration } from "@chaoscore/log";

/**
 * The gateway's schema: operator API keys, request nonces and idempotency keys.
 * Versions are global across the packages (never reuse one: see
 * `composeMigrations` in @chaoscore/log); the composition root applies this
 * list with the others, in version order. Append-only: never edit a shipped entry.
 */
export const GATEWAY_MIGRATIONS: readonly Migration[] = [
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
    version: 10,
    name: "gateway: idempotency reservations are leases renewed by the running request; keys expire",
    sql: `
ALTER TABLE idempotency_keys ADD COLUMN holder text;
ALTER TABLE idempotency_keys ADD COLUMN lease_until timestamptz;
UPDATE idempotency_keys SET lease_until = created_at + interval '60 seconds' WHERE status = 0;
CREATE INDEX idempotency_keys_lease_idx ON idempotency_keys (lease_until) WHERE status = 0;
`,
  },
];
