/**
 * Idempotency keys on writes: the first request with a key reserves it, runs,
 * and stores its 2xx answer; a retry with the same key and request gets that
 * answer again; another request under the key is refused; a retry while the
 * first still runs is told to come back. A rejected request releases its
 * reservation (it writes nothing).
 *
 * A reservation is a lease held by the running request, which renews it
 * while it runs ({@link IdempotencyStore.renew}; the gateway does it every
 * third of the lease): a request that runs for ten minutes (a sandbox run)
 * keeps its key, and a request whose gateway died is taken over one lease
 * after its last renewal. Each holder has its own token, so a request that
 * lost its lease cannot store its answer over its successor's. Answers are
 * kept for `ttlSeconds` (default a day) and then purged.
 * @module
 */
import { randomBytes } from "node:crypto";
import type { Db } from "@chaoscore/log";
import { fail } from "./problem.js";

/** What to do with a request that carries an idempotency key. */
export type IdempotencyDecision =
  | { kind: "run"; holder: string }
  | { kind: "replay"; status: number; response: unknown };

/** Lease and retention of idempotency keys. */
export type IdempotencyOptions = {
  /** How long a reservation lives without a renewal (default 30 s). */
  leaseSeconds?: number;
  /** How long a stored answer is replayed (default 86,400 s, a day); then the key is free. */
  ttlSeconds?: number;
};

export class IdempotencyStore {
  readonly #db: Db;
  /** Seconds a reservation lives without a renewal. */
  readonly leaseSeconds: number;
  /** Seconds an answer is kept. */
  readonly ttlSeconds: number;

  constructor(db: Db, options: IdempotencyOptions = {}) {
    this.#db = db;
    this.leaseSeconds = options.leaseSeconds ?? 30;
    this.ttlSeconds = options.ttlSeconds ?? 86_400;
  }

  /**
   * Reserves `key` for this request, or says to replay the stored answer.
   * @throws ChaosCoreError GATEWAY_IDEMPOTENCY_KEY_REUSED (another request
   * used the key), GATEWAY_IDEMPOTENCY_KEY_IN_USE (the first request with the
   * key is still running).
   */
  async begin(principal: string, key: string, hash: Buffer): Promise<IdempotencyDecision> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const holder = randomBytes(16).toString("hex");
      const reserved = await this.#db.query(
        `INSERT INTO idempotency_keys
           (principal, key, request_hash, status, response, created_at, holder, lease_until)
         VALUES ($1, $2, $3, 0, 'null'::jsonb, now(), $4, now() + make_interval(secs => $5))
         ON CONFLICT DO NOTHING RETURNING key`,
        [principal, key, hash, holder, this.leaseSeconds],
      );
      if (reserved.length > 0) return { kind: "run", holder };
      const [row] = await this.#db.query<{
        request_hash: Uint8Array;
        status: number;
        response: unknown;
        expired: boolean;
      }>(
        `SELECT request_hash, status, response,
                (status > 0 AND created_at < now() - make_interval(secs => $3)) AS expired
         FROM idempotency_keys WHERE principal = $1 AND key = $2`,
        [principal, key, this.ttlSeconds],
      );
      if (row === undefined) continue; // released meanwhile
      if (row.expired) {
        // An answer past its retention: the key is free again.
        await this.#db.query(
          `DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND status > 0
             AND created_at < now() - make_interval(secs => $3)`,
          [principal, key, this.ttlSeconds],
        );
        continue;
      }
      if (!Buffer.from(row.request_hash).equals(hash)) {
        fail(
          "GATEWAY_IDEMPOTENCY_KEY_REUSED",
          "this Idempotency-Key was used with another request",
        );
      }
      if (row.status > 0) return { kind: "replay", status: row.status, response: row.response };
      const taken = await this.#db.query(
        `UPDATE idempotency_keys
         SET holder = $3, lease_until = now() + make_interval(secs => $4), created_at = now()
         WHERE principal = $1 AND key = $2 AND status = 0
           AND (lease_until IS NULL OR lease_until < now()) RETURNING key`,
        [principal, key, holder, this.leaseSeconds],
      );
      if (taken.length > 0) return { kind: "run", holder };
      break;
    }
    fail(
      "GATEWAY_IDEMPOTENCY_KEY_IN_USE",
      "the first request with this Idempotency-Key is still running; retry shortly",
    );
  }

  /** Extends the lease of a running request; false when it lost it (taken over). */
  async renew(principal: string, key: string, holder: string): Promise<boolean> {
    const rows = await this.#db.query(
      `UPDATE idempotency_keys SET lease_until = now() + make_interval(secs => $4)
       WHERE principal = $1 AND key = $2 AND holder = $3 AND status = 0 RETURNING key`,
      [principal, key, holder, this.leaseSeconds],
    );
    return rows.length > 0;
  }

  /** Stores the answer of the request that holds the reservation (nothing if it lost it). */
  async complete(
    principal: string,
    key: string,
    holder: string,
    status: number,
    response: string,
  ): Promise<void> {
    await this.#db.query(
      `UPDATE idempotency_keys SET status = $4, response = $5::jsonb, created_at = now()
       WHERE principal = $1 AND key = $2 AND holder = $3 AND status = 0`,
      [principal, key, holder, status, response],
    );
  }

  /** Frees the reservation of a request that was rejected. */
  async release(principal: string, key: string, holder: string): Promise<void> {
    await this.#db.query(
      "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND holder = $3 AND status = 0",
      [principal, key, holder],
    );
  }

  /**
   * Deletes answers older than the retention and reservations abandoned for
   * longer than it (the gateway runs it periodically).
   * @returns how many keys were deleted.
   */
  async purge(): Promise<number> {
    const rows = await this.#db.query(
      `DELETE FROM idempotency_keys
       WHERE (status > 0 AND created_at < now() - make_interval(secs => $1))
          OR (status = 0 AND lease_until < now() - make_interval(secs => $1))
       RETURNING key`,
      [this.ttlSeconds],
    );
    return rows.length;
  }
}
