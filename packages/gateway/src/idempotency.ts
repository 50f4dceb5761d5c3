/**
 * Idempotency keys on writes: the first request with a key reserves it, runs,
 * and stores its 2xx answer; a retry with the same key and request gets that
 * answer again; another request under the key is refused; a retry while the
 * first still runs is told to come back. A rejected request releases its
 * reservation (it writes nothing).
 * @module
 */
import type { Db } from "@chaoscore/engine";
import { fail } from "./problem.js";

/** What to do with a request that carries an idempotency key. */
export type IdempotencyDecision =
  | { kind: "run" }
  | { kind: "replay"; status: number; response: unknown };

/** Reservations older than this are taken to be abandoned (a gateway died mid-request). */
const STALE_SECONDS = 60;

export class IdempotencyStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Reserves `key` for this request, or says to replay the stored answer.
   * @throws ChaosCoreError GATEWAY_IDEMPOTENCY_KEY_REUSED (another request
   * used the key), GATEWAY_IDEMPOTENCY_KEY_IN_USE (the first request with the
   * key is still running).
   */
  async begin(principal: string, key: string, hash: Buffer): Promise<IdempotencyDecision> {
    const reserved = await this.#db.query(
      `INSERT INTO idempotency_keys (principal, key, request_hash, status, response, created_at)
       VALUES ($1, $2, $3, 0, 'null'::jsonb, now()) ON CONFLICT DO NOTHING RETURNING key`,
      [principal, key, hash],
    );
    if (reserved.length > 0) return { kind: "run" };
    const [row] = await this.#db.query<{
      request_hash: Uint8Array;
      status: number;
      response: unknown;
    }>(
      "SELECT request_hash, status, response FROM idempotency_keys WHERE principal = $1 AND key = $2",
      [principal, key],
    );
    if (row === undefined) return this.begin(principal, key, hash); // released meanwhile
    if (!Buffer.from(row.request_hash).equals(hash)) {
      fail("GATEWAY_IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with another request");
    }
    if (row.status > 0) return { kind: "replay", status: row.status, response: row.response };
    const taken = await this.#db.query(
      `UPDATE idempotency_keys SET created_at = now()
       WHERE principal = $1 AND key = $2 AND status = 0
         AND created_at < now() - make_interval(secs => $3) RETURNING key`,
      [principal, key, STALE_SECONDS],
    );
    if (taken.length > 0) return { kind: "run" };
    fail(
      "GATEWAY_IDEMPOTENCY_KEY_IN_USE",
      "the first request with this Idempotency-Key is still running; retry shortly",
    );
  }

  /** Stores the answer of the request that holds the reservation. */
  async complete(principal: string, key: string, status: number, response: string): Promise<void> {
    await this.#db.query(
      `UPDATE idempotency_keys SET status = $3, response = $4::jsonb
       WHERE principal = $1 AND key = $2 AND status = 0`,
      [principal, key, status, response],
    );
  }

  /** Frees the reservation of a request that was rejected. */
  async release(principal: string, key: string): Promise<void> {
    await this.#db.query(
      "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND status = 0",
      [principal, key],
    );
  }
}
