/**
 * An RFC 9162 transparency log in Postgres: appends (with the checkpoint of
 * each batch), proofs and the nodes tiles are read from, and checkpoint
 * publication. Stored checkpoints and cosignatures are in checkpoint-store.ts,
 * the audit of the tree in tree-audit.ts.
 * @module
 */
import {
  ChaosCoreError,
  CompactRange,
  consistencyProofPlan,
  inclusionProofPlan,
  leafHash,
  type NodeId,
  type ProofPlan,
  resolveProof,
  signCheckpoint,
  subtreeRootPlan,
} from "@chaoscore/core";
import { pgArray } from "../store/binary-params.js";
import { dbBlob, fromDbHex } from "../store/bytes.js";
import type { Db } from "../store/db.js";
import {
  bestCheckpointSizeCovering,
  checkpointInsertSql,
  insertCheckpoint,
  insertCosignatures,
  readCheckpoint,
  readCheckpoints,
  readCosigners,
  type StoredCheckpoint,
  storedCheckpoint,
} from "./checkpoint-store.js";
import { HighNodeCache } from "./high-node-cache.js";
import {
  computeNode,
  hashUp,
  isStoredLevel,
  nodeKeyOf,
  readNodes,
  readStoredRanges,
  type StoredRange,
  storedRangeOf,
} from "./stored-nodes.js";
import { TileNodeCache } from "./tile-node-cache.js";
import { auditTree, type TreeAuditReport } from "./tree-audit.js";

export type { StoredCheckpoint } from "./checkpoint-store.js";
export type { AuditFinding } from "./tree-audit.js";

/** Options of a log. */
export type TransparencyLogOptions = {
  /** Row id of the log (default "default"). */
  id?: string;
  /** The checkpoint origin line, e.g. `chaoscore.local/log/default`. */
  origin: string;
  /** C2SP signed-note signer key (`PRIVATE+KEY+<origin>+…`). */
  signerKey: string;
  /** The matching verifier key (`<origin>+<keyid>+<key>`). */
  verifierKey: string;
};

/** A log's row as read under its lock (`FOR UPDATE`) in the current transaction. */
export type LockedLogRow = { size: number; state: string; successor: string | null };

/**
 * An RFC 9162 transparency log persisted in Postgres. Leaves and the
 * complete subtree hashes at levels 0, 8, 12, 16, 20, … are stored
 * (stored-nodes.ts), so appends touch O(1) amortized rows and proofs read
 * at most a tile of leaf hashes and ≤ 15 stored nodes per 4 levels above:
 * neither slows down as the log grows.
 *
 * One writer per log at a time: appends lock the log's row (`FOR UPDATE`),
 * which serializes writers across processes (D13).
 */
export class TransparencyLog {
  readonly id: string;
  readonly origin: string;
  readonly verifierKey: string;
  private readonly signerKey: string;
  /** The frontier as of the last committed append of this process. */
  private frontier: CompactRange | undefined;
  /** Called with each checkpoint this process's writer publishes, after it committed. */
  private readonly checkpointListeners = new Set<(cp: StoredCheckpoint) => void>();
  /**
   * The nodes proofs read outside full level-0 tiles (complete subtrees of
   * 256 leaves or more, and those at the tree's right edge), immutable once
   * stored, bounded: shared by the readers of this log on a replica
   * (read-replica.ts), whose nodes are the primary's.
   */
  private readonly highNodes = new HighNodeCache();
  /** The nodes inside full level-0 tiles read so far, bounded (64 MiB), shared likewise. */
  private readonly tileNodes = new TileNodeCache();
  /** Per database (primary, replica): the largest tree size seen there (it only grows). */
  private readonly seenSizes = new WeakMap<Db, number>();

  private constructor(
    private readonly db: Db,
    options: TransparencyLogOptions,
  ) {
    this.id = options.id ?? "default";
    this.origin = options.origin;
    this.signerKey = options.signerKey;
    this.verifierKey = options.verifierKey;
  }

  /**
   * Opens the log, creating its row on first use.
   * @throws ChaosCoreError INVALID_INPUT when the stored log has another origin or key.
   */
  static async open(db: Db, options: TransparencyLogOptions): Promise<TransparencyLog> {
    const log = new TransparencyLog(db, options);
    const created = await db.query(
      `INSERT INTO logs (id, origin, verifier_key) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [log.id, log.origin, log.verifierKey],
    );
    const [row] = await db.query<{ origin: string; verifier_key: string }>(
      "SELECT origin, verifier_key FROM logs WHERE id = $1",
      [log.id],
    );
    if (row?.origin !== log.origin || row.verifier_key !== log.verifierKey) {
      throw new ChaosCoreError(
        "INVALID_INPUT",
        "the stored log has another origin or verifier key than the configured one",
        { details: { id: log.id, storedOrigin: row?.origin, origin: log.origin } },
      );
    }
    // A new log publishes the checkpoint of its empty tree, so that readers
    // always find one (they never make checkpoints themselves).
    if (created.length === 1) await log.checkpoint();
    return log;
  }

  /**
   * A log whose row exists (a shard of a family: log-family.ts creates the
   * rows of shards n ≥ 1 itself, in the transaction that rotates).
   */
  static attach(db: Db, options: TransparencyLogOptions): TransparencyLog {
    return new TransparencyLog(db, options);
  }

  /**
   * Calls `listener` with every checkpoint this process's writer publishes
   * (after the append that made it committed). Returns an unsubscribe function.
   */
  onCheckpoint(listener: (cp: StoredCheckpoint) => void): () => void {
    this.checkpointListeners.add(listener);
    return () => this.checkpointListeners.delete(listener);
  }

  /** The number of leaves committed. */
  async size(tx: Db = this.db): Promise<number> {
    const [row] = await tx.query<{ size: number }>("SELECT size FROM logs WHERE id = $1", [
      this.id,
    ]);
    return Number(row?.size ?? 0);
  }

  /**
   * Appends leaves inside the caller's transaction, after locking the log
   * (unless the caller did, in `tx`, and passes the row it read as `locked`).
   * `leafHashes[i]`, where given, is entry i's RFC 9162 leaf hash as already
   * computed from the same bytes (by a signature worker, entry-prep.ts).
   * Returns the index of the first new leaf and a `commit` to call once the
   * transaction has committed (it lets later appends reuse the frontier).
   */
  async appendInTransaction(
    tx: Db,
    entries: readonly Uint8Array[],
    locked?: LockedLogRow,
    leafHashes?: readonly (Uint8Array | undefined)[],
  ): Promise<{ firstIndex: number; size: number; commit: () => void }> {
    let published: StoredCheckpoint | undefined;
    const [row] =
      locked !== undefined
        ? [locked]
        : await tx.query<LockedLogRow>(
            "SELECT size, state, successor FROM logs WHERE id = $1 FOR UPDATE",
            [this.id],
          );
    if (row === undefined) throw new ChaosCoreError("LOG_NOT_FOUND", `no log ${this.id}`);
    if (row.state === "frozen" && entries.length > 0) {
      // A frozen shard never grows (docs/spec/shards.md): its final checkpoint stays its last.
      throw new ChaosCoreError("LOG_SHARD_FROZEN", `log ${this.id} is frozen`, {
        details: { log: this.id, successor: row.successor },
      });
    }
    const size = Number(row.size);
    const range =
      this.frontier !== undefined && this.frontier.size === size
        ? this.frontier.clone()
        : await this.loadFrontier(tx, size);
    const levels: number[] = [];
    const indices: number[] = [];
    const hashes: Uint8Array[] = [];
    const leafIndices: number[] = [];
    for (const [i, entry] of entries.entries()) {
      leafIndices.push(range.size);
      for (const node of range.append(leafHashes?.[i] ?? leafHash(entry))) {
        // Only the tile levels are stored (stored-nodes.ts).
        if (!isStoredLevel(node.level)) continue;
        levels.push(node.level);
        indices.push(node.index);
        hashes.push(node.hash);
      }
    }
    if (entries.length > 0) {
      const offsets: number[] = [];
      let offset = 1;
      for (const e of entries) {
        offsets.push(offset);
        offset += e.length;
      }
      // One statement writes the leaves, the nodes, the log's new size and the
      // batch's checkpoint (one round trip: on PGlite each statement costs
      // ≈ 0.25 ms of its own, on a loaded server a context switch or two).
      // The writer publishes the checkpoint of every batch in the batch's own
      // transaction: every acknowledged entry is covered, and readers never
      // sign or write (issue 19, item 11). The entries travel as one byte
      // string (dbBlob), sliced by the server — a third cheaper than a text[]
      // of hex —, the node hashes likewise, 32 bytes each.
      const leaves = dbBlob(entries, 3);
      const nodes = dbBlob(hashes, 8);
      const rootHash = range.root();
      const note = this.signNote(range.size, rootHash);
      const [created] = await tx.query<{ created_at: Date | string }>(
        `WITH leaf_blob AS MATERIALIZED (SELECT ${leaves.sql} AS b),
              node_blob AS MATERIALIZED (SELECT ${nodes.sql} AS b),
              leaves AS (
                INSERT INTO log_leaves (log_id, idx, entry)
                SELECT $1, u.idx, substring(leaf_blob.b FROM u.off FOR u.len)
                FROM leaf_blob, unnest($2::bigint[], $4::int[], $5::int[]) AS u(idx, off, len)),
              grown AS (UPDATE logs SET size = $9 WHERE id = $1),
              nodes AS (
                INSERT INTO log_nodes (log_id, level, idx, hash)
                SELECT $1, u.level, u.idx, substring(node_blob.b FROM u.n::int * 32 - 31 FOR 32)
                FROM node_blob, unnest($6::smallint[], $7::bigint[]) WITH ORDINALITY AS u(level, idx, n))
         ${checkpointInsertSql(1, 9, 10, 11)}`,
        [
          this.id,
          pgArray("int8", leafIndices),
          leaves.param,
          pgArray("int4", offsets),
          pgArray(
            "int4",
            entries.map((e) => e.length),
          ),
          pgArray("int2", levels),
          pgArray("int8", indices),
          nodes.param,
          range.size,
          rootHash,
          note,
        ],
      );
      published = storedCheckpoint(range.size, rootHash, note, created?.created_at);
    }
    return {
      firstIndex: size,
      size: range.size,
      commit: () => {
        this.frontier = range;
        if (published !== undefined) this.notify(published);
      },
    };
  }

  private async loadFrontier(tx: Db, size: number): Promise<CompactRange> {
    const nodes = await readNodes(tx, this.id, subtreeRootPlan(size).nodes());
    return CompactRange.fromNodes(size, (level, index) => nodes.get(`${level}/${index}`));
  }

  private async resolve(plan: ProofPlan, tx: Db = this.db): Promise<Uint8Array[]> {
    const nodes = await readNodes(tx, this.id, plan.nodes());
    return resolveProof(plan, (level, index) => nodes.get(`${level}/${index}`));
  }

  /** The root hash of the tree at `size` (≤ the current size). */
  async rootAt(size: number, tx: Db = this.db): Promise<Uint8Array> {
    const [root] = await this.resolve(subtreeRootPlan(size), tx);
    return root as Uint8Array;
  }

  /**
   * The inclusion proof of leaf `index` in the tree of `size` leaves: one
   * query at most (see {@link proofOfSize}).
   * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE when `index ≥ size` or `size` exceeds the log.
   */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    assertTreeSize(size);
    return this.proofOfSize(inclusionProofPlan(index, size), size);
  }

  /**
   * The consistency proof between the trees of `size1` and `size2` leaves:
   * one query at most (see {@link proofOfSize}).
   * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE when the sizes are out of order or too large.
   */
  async consistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    assertTreeSize(size2);
    return this.proofOfSize(consistencyProofPlan(size1, size2), size2);
  }

  /**
   * Resolves `plan`, a proof in the tree of `size` leaves, with one statement
   * at most (one snapshot). Unless a tree of `size` leaves or more was seen on
   * this database before (a log's tree only grows), it reads the leaf node
   * (0, size − 1) too: that node is stored in the transaction that raises the
   * log's size to include it, so finding it proves the tree of `size` exists
   * here (the plan's own nodes do not: for the last leaf they cover
   * [0, size − 1) only). Nodes come from memory when held: the nodes inside
   * full level-0 tiles ({@link tileNodes}: a proof whose leaf lies in a full
   * tile not held yet reads the tile's 256 leaves instead of its nodes there,
   * and keeps it) and every other node a proof read ({@link highNodes}).
   */
  private async proofOfSize(plan: ProofPlan, size: number): Promise<Uint8Array[]> {
    const held = (level: number, index: number) =>
      this.highNodes.get(level, index) ?? this.tileNodes.get(level, index);
    const known = size <= (this.seenSizes.get(this.db) ?? 0);
    const nodes = new Map<string, Uint8Array>();
    const wanted: NodeId[] = [];
    const tiles = new Set<number>();
    for (const n of plan.nodes()) {
      const hit = held(n.level, n.index);
      if (hit !== undefined) nodes.set(nodeKeyOf(n.level, n.index), hit);
      else if (n.level < 8 && (TileNodeCache.tileOf(n.level, n.index) + 1) * 256 <= size) {
        tiles.add(TileNodeCache.tileOf(n.level, n.index));
      } else {
        wanted.push(n);
      }
    }
    if (!known) wanted.push({ level: 0, index: size - 1 });
    // Found by this statement on this database: never from memory.
    let leafFound = false;
    if (wanted.length > 0 || tiles.size > 0) {
      const ranges: StoredRange[] = wanted.map((n) => storedRangeOf(n.level, n.index));
      for (const tile of tiles) ranges.push({ level: 0, start: tile * 256, end: tile * 256 + 256 });
      const stored = await readStoredRanges(this.db, this.id, ranges);
      leafFound = stored.has(nodeKeyOf(0, size - 1));
      for (const n of wanted) {
        const hash = computeNode(stored, n.level, n.index);
        if (hash === undefined) continue;
        nodes.set(nodeKeyOf(n.level, n.index), hash);
        // the proof's own nodes (not a tile's): at level 8 and up, or at the
        // right edge of the tree, outside any full tile
        this.highNodes.set(n.level, n.index, hash);
      }
      for (const tile of tiles) {
        const leaves: Uint8Array[] = [];
        for (let i = tile * 256; i < tile * 256 + 256; i++) {
          const leaf = stored.get(nodeKeyOf(0, i));
          if (leaf === undefined) break;
          leaves.push(leaf);
        }
        this.tileNodes.set(tile, leaves);
      }
    }
    const lookup = (level: number, index: number) =>
      nodes.get(nodeKeyOf(level, index)) ?? held(level, index);
    // Not here (or, for a size seen before, a node missing: a replica-routing
    // handle may have seen it on the primary): this side has no such tree.
    const here = known
      ? plan.nodes().every((n) => lookup(n.level, n.index) !== undefined)
      : leafFound;
    if (!here) {
      const current = await this.size();
      throw new ChaosCoreError(
        "MERKLE_INDEX_OUT_OF_RANGE",
        `tree size ${size} is not in [0, ${current}]`,
        { details: { size, current } },
      );
    }
    if (!known) this.seenSizes.set(this.db, Math.max(size, this.seenSizes.get(this.db) ?? 0));
    return resolveProof(plan, lookup);
  }

  /** The stored entry bytes of leaves [start, end). */
  async entries(start: number, end: number): Promise<{ index: number; entry: Uint8Array }[]> {
    const rows = await this.db.query<{ idx: number; entry: string }>(
      `SELECT idx, encode(entry, 'hex') AS entry FROM log_leaves
       WHERE log_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx`,
      [this.id, start, end],
    );
    return rows.map((r) => ({ index: Number(r.idx), entry: fromDbHex(r.entry) }));
  }

  /**
   * The hashes of the complete subtrees at `level` with indices in
   * [start, end), in order, up to the first one not complete (the tiles of
   * C2SP tlog-tiles are read from these, at the tile levels 0, 8, 16, …, all
   * stored; another level is computed from the stored one below it).
   */
  async nodes(level: number, start: number, end: number): Promise<Uint8Array[]> {
    const base = storedRangeOf(level, start);
    const last = storedRangeOf(level, end).start;
    const stored = await readStoredRanges(this.db, this.id, [
      { level: base.level, start: base.start, end: last },
    ]);
    const under: Uint8Array[] = [];
    for (let i = base.start; i < last; i++) {
      const hash = stored.get(nodeKeyOf(base.level, i));
      if (hash === undefined) break;
      under.push(hash);
    }
    const depth = level - base.level;
    return hashUp(under, depth);
  }

  /**
   * Signs a checkpoint of the current tree (C2SP tlog-checkpoint as a signed
   * note) and stores it; returns the stored one when the tree has not grown.
   */
  async checkpoint(): Promise<StoredCheckpoint> {
    let published: StoredCheckpoint | undefined;
    const cp = await this.db.transaction(async (tx) => {
      const [row] = await tx.query<{ size: number }>(
        "SELECT size FROM logs WHERE id = $1 FOR UPDATE",
        [this.id],
      );
      const result = await this.checkpointInTransaction(tx, Number(row?.size ?? 0));
      published = result.published ? result.checkpoint : undefined;
      return result.checkpoint;
    });
    if (published !== undefined) this.notify(published);
    return cp;
  }

  /**
   * The checkpoint of the tree of `size` leaves in `tx` (whose caller holds
   * the log's lock): the stored one, else signed and stored now.
   */
  async checkpointInTransaction(
    tx: Db,
    size: number,
  ): Promise<{ checkpoint: StoredCheckpoint; published: boolean }> {
    const existing = await readCheckpoint(tx, this.id, "size = $2", [size]);
    if (existing !== undefined) return { checkpoint: existing, published: false };
    const rootHash =
      this.frontier?.size === size ? this.frontier.root() : await this.rootAt(size, tx);
    return { checkpoint: await this.insertCheckpoint(tx, size, rootHash), published: true };
  }

  private async insertCheckpoint(
    tx: Db,
    size: number,
    rootHash: Uint8Array,
  ): Promise<StoredCheckpoint> {
    return insertCheckpoint(tx, this.id, size, rootHash, this.signNote(size, rootHash));
  }

  /** The signed note of this log's checkpoint at `size`. */
  private signNote(size: number, rootHash: Uint8Array): string {
    return signCheckpoint({ origin: this.origin, size, rootHash, extensions: [] }, this.signerKey);
  }

  private notify(cp: StoredCheckpoint): void {
    for (const listener of this.checkpointListeners) {
      try {
        listener(cp);
      } catch {
        // A listener's failure is its own; publication has happened.
      }
    }
  }

  /**
   * The latest published checkpoint, with its cosignatures, if any. A plain
   * read: it never takes the writer's lock and never signs.
   */
  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return readCheckpoint(this.db, this.id, "true ORDER BY size DESC LIMIT 1", []);
  }

  /**
   * The published checkpoint a receipt for leaf `index` should carry: among
   * the checkpoints whose tree contains the leaf, the one with the most
   * witness cosignatures, the newest among equals. A plain read.
   * @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE when the leaf is not in the log.
   * @throws ChaosCoreError LOG_NOT_YET_CHECKPOINTED when it is, but no
   * published checkpoint covers it yet (retryable).
   */
  async checkpointCovering(index: number): Promise<StoredCheckpoint> {
    const best = await bestCheckpointSizeCovering(this.db, this.id, index);
    const cp = best === undefined ? undefined : await this.checkpointAt(best);
    if (cp !== undefined) return cp;
    const size = await this.size();
    if (index >= size) {
      throw new ChaosCoreError("MERKLE_INDEX_OUT_OF_RANGE", `leaf ${index} is not in the log`);
    }
    const latest = await this.latestCheckpoint();
    throw new ChaosCoreError(
      "LOG_NOT_YET_CHECKPOINTED",
      `leaf ${index} is not covered by a published checkpoint yet; retry shortly`,
      { details: { index, checkpointSize: latest?.size ?? null, retryAfterSeconds: 1 } },
    );
  }

  /**
   * Stores witness cosignature lines of the checkpoint of `size` (one per
   * witness, keyed by `witness`, the first one kept). The caller has verified them.
   */
  async addCosignatures(
    size: number,
    cosignatures: readonly { witness: string; line: string }[],
  ): Promise<void> {
    await insertCosignatures(this.db, this.id, size, cosignatures);
  }

  /** The witnesses (`name+keyId`) whose cosignature of the checkpoint of `size` is stored. */
  async cosigners(size: number): Promise<string[]> {
    return readCosigners(this.db, this.id, size);
  }

  /** The stored checkpoint of the tree of `size` leaves, if one was signed. */
  async checkpointAt(size: number): Promise<StoredCheckpoint | undefined> {
    return readCheckpoint(this.db, this.id, "size = $2", [size]);
  }

  /** Every stored checkpoint, oldest first. */
  async checkpoints(): Promise<StoredCheckpoint[]> {
    return readCheckpoints(this.db, this.id);
  }

  /**
   * Rebuilds the tree from the stored leaves and checks it against the stored
   * nodes, the log size and every signed checkpoint; `checkEntry` checks each
   * entry's content (signatures, table rows) and returns a problem or null.
   * Names the leaf index of every row edited, removed or reordered in the database.
   */
  async audit(
    checkEntry: (index: number, entry: Uint8Array) => Promise<string | null> | string | null,
    onProgress?: (done: number, total: number) => void,
  ): Promise<TreeAuditReport> {
    return auditTree(this.db, this, checkEntry, onProgress);
  }
}

/** @throws ChaosCoreError MERKLE_INDEX_OUT_OF_RANGE unless `size` is a tree size. */
function assertTreeSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new ChaosCoreError("MERKLE_INDEX_OUT_OF_RANGE", `tree size ${size} is not a tree size`, {
      details: { size },
    });
  }
}
