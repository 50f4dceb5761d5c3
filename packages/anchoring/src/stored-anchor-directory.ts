import { logIdOf } from "@chaoscore/chain";
import { type Hex, isChaosCoreError, type ReceiptAnchor } from "@chaoscore/core";
import type { AnchorDirectory, Db, LogFamily, TransparencyLog } from "@chaoscore/log";
import {
  ANCHOR_COLUMNS,
  type AnchorRecord,
  type AnchorRow,
  anchorColumns,
  toRecord,
} from "./anchor-records.js";

/**
 * The {@link AnchorDirectory} of the anchors recorded in the database: needs
 * no chain connection (receipts of a process that does not anchor itself).
 */
export class StoredAnchorDirectory implements AnchorDirectory {
  readonly #db: Db;
  readonly #log: TransparencyLog;
  readonly #family: LogFamily | undefined;
  readonly #chainId: string | undefined;
  readonly #contract: string | undefined;

  /**
   * Without `chainId` / `contract`, final anchors on any chain and contract
   * count. With `family` (whose shard 0 is `log`), the anchors of every shard
   * of the family are answered too.
   */
  constructor(options: {
    db: Db;
    log: TransparencyLog;
    family?: LogFamily;
    chainId?: string;
    contract?: string;
  }) {
    this.#db = options.db;
    this.#log = options.log;
    this.#family = options.family;
    this.#chainId = options.chainId;
    this.#contract = options.contract?.toLowerCase();
  }

  /**
   * Every anchor record of the log (any status) on this chain and contract,
   * newest first; with `family`, of every shard of the family (each record
   * names its shard in `logId`).
   */
  async list(limit = 100): Promise<AnchorRecord[]> {
    const params: unknown[] = [this.#log.id];
    const where = this.#filter(params, "");
    params.push(limit);
    const logs =
      this.#family === undefined
        ? "log_id = $1"
        : "(log_id = $1 OR log_id IN (SELECT id FROM logs WHERE family_id = $1))";
    const rows = await this.#db.query<AnchorRow>(
      `SELECT ${ANCHOR_COLUMNS} FROM anchors WHERE ${logs} ${where}
       ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(toRecord);
  }

  /** `AND chain_id = … AND contract = …` for the configured filter (pushing to `params`). */
  #filter(params: unknown[], alias: string): string {
    const where: string[] = [];
    if (this.#chainId !== undefined) {
      params.push(this.#chainId);
      where.push(`AND ${alias}chain_id = $${params.length}`);
    }
    if (this.#contract !== undefined) {
      params.push(this.#contract);
      where.push(`AND ${alias}contract = $${params.length}`);
    }
    return where.join(" ");
  }

  /** The latest FINAL anchor of `logId` whose stored checkpoint covers leaf `leafIndex`, or null. */
  async anchorCovering(
    logId: string,
    leafIndex: number,
  ): Promise<{ size: number; anchor: ReceiptAnchor } | null> {
    let origin = this.#log.origin;
    if (logId !== this.#log.id) {
      if (this.#family === undefined) return null;
      // The family keeps the shards it opened: no query per receipt.
      const shard = await this.#family.get(logId).catch((error: unknown) => {
        if (isChaosCoreError(error, "LOG_NOT_FOUND")) return null;
        throw error;
      });
      if (shard === null) return null;
      origin = shard.origin;
    }
    const params: unknown[] = [logId, leafIndex];
    const where = [this.#filter(params, "a.")];
    const [row] = await this.#db.query<AnchorRow>(
      `SELECT ${anchorColumns("a")} FROM anchors a
       JOIN log_checkpoints c ON c.log_id = a.log_id AND c.size = a.size
       WHERE a.log_id = $1 AND a.status = 'final' AND a.size > $2 ${where.join(" ")}
         AND a.anchor_index IS NOT NULL AND a.tx_hash IS NOT NULL AND a.block_number IS NOT NULL
       ORDER BY a.size DESC, a.id DESC LIMIT 1`,
      params,
    );
    if (row === undefined) return null;
    const r = toRecord(row);
    return {
      size: r.size,
      anchor: {
        chainId: r.chainId,
        contract: r.contract,
        logId: logIdOf(origin),
        index: r.index as number,
        txHash: r.txHash as Hex,
        blockNumber: r.blockNumber as number,
      },
    };
  }
}
