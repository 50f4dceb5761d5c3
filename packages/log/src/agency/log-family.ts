/**
 * A log family: the configured log (shard 0) and the shards that follow it
 * when it is rotated by size or age (docs/spec/shards.md). One shard is
 * active and takes every append; a frozen shard never grows, its final
 * checkpoint stays its last, and leaf 0 of its successor is the link entry
 * `chaoscore.shard-link/v1` that commits to that checkpoint. Rotation happens
 * inside the append transaction that holds the family's lock (the row of
 * shard 0), so any writer process may rotate and exactly one successor is made.
 * @module
 */
import {
  bytesToBase64,
  ChaosCoreError,
  deriveShardKey,
  encodeShardLink,
  fail,
  type LogShardInfo,
  SHARD_LINK_FORMAT,
  shardId,
  shardOrigin,
  signShardCertificate,
} from "@chaoscore/core";
import type { Db } from "../store/db.js";
import { type LockedLogRow, TransparencyLog } from "./transparency-log.js";

/** When the active shard is frozen and a successor started (0 or absent: never). */
export type ShardRotation = {
  /** Rotate at the first append once the active shard holds this many leaves (0 = never; else ≥ 2). */
  maxEntries?: number;
  /** Rotate at the first append once the active shard is this old, in seconds (0 = never). */
  maxAgeSeconds?: number;
};

export type { LogShardInfo } from "@chaoscore/core";

type ShardRow = {
  id: string;
  origin: string;
  verifier_key: string;
  family_id: string;
  shard: number;
  size: number;
  state: "active" | "frozen";
  created_at: Date | string;
  frozen_at: Date | string | null;
  frozen_size: number | null;
  successor: string | null;
  certificate: string | null;
};

/** How long {@link LogFamily.active} reuses its last read of the active shard. */
const ACTIVE_TTL_MS = 1000;

const SHARD_COLUMNS =
  "id, origin, verifier_key, family_id, shard, size, state, created_at, frozen_at, frozen_size, successor, certificate";

/**
 * The shards of one log family over one database. Holds one
 * {@link TransparencyLog} per shard (each keeps its frontier cache); reads the
 * active shard from the database every time, so several processes agree.
 */
export class LogFamily {
  /** The family id: the id of shard 0 (the configured `log.id`). */
  readonly id: string;
  /** The family origin: the origin of shard 0. */
  readonly origin: string;
  /** The family key: shard 0's verifier key, which signs shard certificates. */
  readonly verifierKey: string;
  /** Shard 0. */
  readonly root: TransparencyLog;
  private readonly signerKey: string | undefined;
  private readonly rotation: Required<ShardRotation>;
  private readonly shards = new Map<string, TransparencyLog>();
  /** The active shard as last read, and when (reads reuse it for {@link ACTIVE_TTL_MS}). */
  private activeSeen: { log: TransparencyLog; at: number } | undefined;

  /**
   * @param options.signerKey the family signer key (shard 0's): shard keys
   * and certificates derive from it. Without it the family only reads shards
   * and never rotates.
   * @throws ChaosCoreError INVALID_INPUT when `rotation.maxEntries` is 1 or a
   * limit is negative, or a rotation limit is set without the signer key.
   */
  constructor(
    private readonly db: Db,
    root: TransparencyLog,
    options: { signerKey?: string; rotation?: ShardRotation },
  ) {
    this.root = root;
    this.id = root.id;
    this.origin = root.origin;
    this.verifierKey = root.verifierKey;
    this.signerKey = options.signerKey;
    const maxEntries = options.rotation?.maxEntries ?? 0;
    const maxAgeSeconds = options.rotation?.maxAgeSeconds ?? 0;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 0 || maxEntries === 1) {
      fail("INVALID_INPUT", "shard max entries is 0 (never) or an integer ≥ 2", { maxEntries });
    }
    if (!Number.isSafeInteger(maxAgeSeconds) || maxAgeSeconds < 0) {
      fail("INVALID_INPUT", "shard max age is 0 (never) or a number of seconds", {
        maxAgeSeconds,
      });
    }
    if ((maxEntries > 0 || maxAgeSeconds > 0) && this.signerKey === undefined) {
      fail("INVALID_INPUT", "rotating shards needs the family signer key");
    }
    this.rotation = { maxEntries, maxAgeSeconds };
    this.shards.set(root.id, root);
  }

  /** The rotation limits in force (0 = never). */
  get limits(): Required<ShardRotation> {
    return { ...this.rotation };
  }

  /**
   * The shard `id` of this family.
   * @throws ChaosCoreError LOG_NOT_FOUND when there is none.
   */
  async get(id: string, tx: Db = this.db): Promise<TransparencyLog> {
    const cached = this.shards.get(id);
    if (cached !== undefined) return cached;
    const [row] = await tx.query<ShardRow>(
      `SELECT ${SHARD_COLUMNS} FROM logs WHERE id = $1 AND family_id = $2`,
      [id, this.id],
    );
    if (row === undefined) {
      fail("LOG_NOT_FOUND", `no log ${id} in the family ${this.id}`, { log: id });
    }
    return this.attach(row);
  }

  private attach(row: ShardRow): TransparencyLog {
    const cached = this.shards.get(row.id);
    if (cached !== undefined) return cached;
    const keys =
      this.signerKey === undefined
        ? { signerKey: "", verifierKey: row.verifier_key }
        : deriveShardKey(this.signerKey, row.origin);
    if (keys.verifierKey !== row.verifier_key) {
      throw new ChaosCoreError(
        "INVALID_INPUT",
        `the stored shard ${row.id} has another key than the one the family key derives`,
        { details: { log: row.id } },
      );
    }
    const log = TransparencyLog.attach(this.db, { id: row.id, origin: row.origin, ...keys });
    this.shards.set(row.id, log);
    return log;
  }

  /**
   * The shard whose checkpoint origin is `origin`.
   * @throws ChaosCoreError LOG_NOT_FOUND when no shard of the family has it.
   */
  async byOrigin(origin: string, tx: Db = this.db): Promise<TransparencyLog> {
    for (const log of this.shards.values()) if (log.origin === origin) return log;
    const [row] = await tx.query<ShardRow>(
      `SELECT ${SHARD_COLUMNS} FROM logs WHERE origin = $1 AND family_id = $2`,
      [origin, this.id],
    );
    if (row === undefined) fail("LOG_NOT_FOUND", `no log with origin ${origin} in this family`);
    return this.attach(row);
  }

  /**
   * The active shard (a plain read: another process may rotate right after).
   * Without `tx`, a read of the last {@link ACTIVE_TTL_MS} ms is reused: a
   * rotation by this process shows at once, one by another process within
   * that time (until then reads name the shard just frozen, which is still
   * a valid log). Writes never use it: they lock the family.
   */
  async active(tx?: Db): Promise<TransparencyLog> {
    const seen = this.activeSeen;
    if (tx === undefined && seen !== undefined && Date.now() - seen.at < ACTIVE_TTL_MS) {
      return seen.log;
    }
    const [row] = await (tx ?? this.db).query<ShardRow>(
      `SELECT ${SHARD_COLUMNS} FROM logs WHERE family_id = $1 AND state = 'active'`,
      [this.id],
    );
    if (row === undefined) fail("LOG_NOT_FOUND", `the family ${this.id} has no active shard`);
    const log = this.attach(row);
    if (tx === undefined) this.activeSeen = { log, at: Date.now() };
    return log;
  }

  /** Every shard of the family, oldest first. */
  async list(tx: Db = this.db): Promise<LogShardInfo[]> {
    const rows = await tx.query<ShardRow>(
      `SELECT ${SHARD_COLUMNS} FROM logs WHERE family_id = $1 ORDER BY shard`,
      [this.id],
    );
    return rows.map((r) => ({
      id: r.id,
      origin: r.origin,
      verifierKey: r.verifier_key,
      shard: Number(r.shard),
      size: Number(r.size),
      state: r.state,
      createdAt: new Date(r.created_at).toISOString(),
      ...(r.frozen_at === null ? {} : { frozenAt: new Date(r.frozen_at).toISOString() }),
      ...(r.frozen_size === null ? {} : { frozenSize: Number(r.frozen_size) }),
      ...(r.successor === null ? {} : { successor: r.successor }),
      ...(r.certificate === null ? {} : { certificate: r.certificate }),
    }));
  }

  /**
   * Locks the family (the row of shard 0) in `tx`, rotates when the active
   * shard is full or old (unless `rotate` is false, or a function of the
   * active shard's id that answers false: the group-commit writer rotates only
   * for a batch with an entry for the active shard), and returns the shard the
   * caller appends to. `commit` is to be called once `tx` has committed.
   * `locked` is that shard's row as locked here (absent after a rotation):
   * pass it to {@link TransparencyLog.appendInTransaction}, which then need
   * not lock and read it again.
   */
  async lockActive(
    tx: Db,
    options: { rotate?: boolean | ((activeId: string) => boolean) } = {},
  ): Promise<{ log: TransparencyLog; commit: () => void; locked?: LockedLogRow }> {
    // One statement locks the family's row (shard 0) and then, in shard order,
    // the active shard's (often the same row). A writer that waited for the
    // family's lock while another rotated finds the shard it saw frozen and
    // does not see the new one (its statement's snapshot is older): it reads
    // the active shard again, under the family's lock now.
    const due = `($2::bigint > 0 AND size >= $2::bigint)
              OR ($3::float8 > 0 AND size > CASE WHEN shard = 0 THEN 0 ELSE 1 END
                  AND now() - created_at >= make_interval(secs => $3::float8)) AS due`;
    const params = [this.id, this.rotation.maxEntries, this.rotation.maxAgeSeconds];
    const locked = await tx.query<ShardRow & { due: boolean }>(
      `SELECT ${SHARD_COLUMNS}, ${due} FROM logs
       WHERE id = $1 OR (family_id = $1 AND state = 'active') ORDER BY shard FOR UPDATE`,
      params,
    );
    const row =
      locked.find((r) => r.family_id === this.id && r.state === "active") ??
      (
        await tx.query<ShardRow & { due: boolean }>(
          `SELECT ${SHARD_COLUMNS}, ${due} FROM logs
           WHERE family_id = $1 AND state = 'active' FOR UPDATE`,
          params,
        )
      )[0];
    if (row === undefined) fail("LOG_NOT_FOUND", `the family ${this.id} has no active shard`);
    const log = this.attach(row);
    const rotate =
      typeof options.rotate === "function" ? options.rotate(log.id) : options.rotate !== false;
    if (!row.due || !rotate) {
      const locked = { size: Number(row.size), state: row.state, successor: row.successor };
      return { log, commit: () => undefined, locked };
    }
    return this.rotate(tx, log, row);
  }

  /**
   * Appends `entries` to the active shard (rotating first when it is due) in
   * `tx`; see {@link TransparencyLog.appendInTransaction}.
   */
  async appendInTransaction(
    tx: Db,
    entries: readonly Uint8Array[],
  ): Promise<{ log: TransparencyLog; firstIndex: number; size: number; commit: () => void }> {
    const target = await this.lockActive(tx);
    const appended = await target.log.appendInTransaction(tx, entries, target.locked);
    return {
      log: target.log,
      firstIndex: appended.firstIndex,
      size: appended.size,
      commit: () => {
        target.commit();
        appended.commit();
      },
    };
  }

  /** Freezes the active shard at its size and starts the next with its link entry. */
  private async rotate(
    tx: Db,
    previous: TransparencyLog,
    row: ShardRow,
  ): Promise<{ log: TransparencyLog; commit: () => void }> {
    const size = Number(row.size);
    // Every batch publishes its checkpoint, so this is the stored one at the final size.
    const final = await previous.checkpointInTransaction(tx, size);
    const n = Number(row.shard) + 1;
    const id = shardId(this.id, n);
    const origin = shardOrigin(this.origin, n);
    const signerKey = this.signerKey as string; // the constructor refuses rotation without it
    const keys = deriveShardKey(signerKey, origin);
    const certificate = signShardCertificate(signerKey, {
      familyOrigin: this.origin,
      shard: n,
      shardOrigin: origin,
      shardVerifierKey: keys.verifierKey,
    });
    await tx.query(
      `UPDATE logs SET state = 'frozen', frozen_size = $2, frozen_at = now() WHERE id = $1`,
      [previous.id, size],
    );
    await tx.query(
      `INSERT INTO logs (id, origin, verifier_key, family_id, shard, certificate)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, origin, keys.verifierKey, this.id, n, certificate],
    );
    await tx.query("UPDATE logs SET successor = $2 WHERE id = $1", [previous.id, id]);
    const next = TransparencyLog.attach(this.db, { id, origin, ...keys });
    const link = encodeShardLink({
      format: SHARD_LINK_FORMAT,
      family: this.origin,
      shard: n,
      origin,
      previous: {
        origin: previous.origin,
        size,
        rootHash: bytesToBase64(final.checkpoint.rootHash),
        checkpoint: final.checkpoint.note,
      },
    });
    const linked = await next.appendInTransaction(tx, [link]);
    return {
      log: next,
      commit: () => {
        // Only once committed: a rolled-back rotation leaves no shard behind.
        this.shards.set(id, next);
        this.activeSeen = { log: next, at: Date.now() };
        linked.commit();
      },
    };
  }
}
