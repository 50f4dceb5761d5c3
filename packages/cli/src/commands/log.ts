import type { AnchorRecordFinding } from "@chaoscore/anchoring";
import { bytesToBase64 } from "@chaoscore/core";
import { withEngine } from "../engine-context.js";
import { count, info, out, printFields, printJson } from "../output.js";
import type { Globals } from "../program.js";
import { auditRpcUrl, type ChainHistory, readChainHistory } from "./log-audit-chain.js";

/** Leaves per audit progress report (the engine reads the log in chunks of this size). */
const PROGRESS_FROM = 5000;

/** Audit finding kinds whose index is a checkpoint's tree size. */
const CHECKPOINT_KINDS = new Set([
  "checkpoint-root-mismatch",
  "checkpoint-signature-invalid",
  "size-mismatch",
]);

/**
 * `chaoscore log checkpoint`: sign (or reuse) the checkpoint of the current
 * tree of the active shard (docs/spec/shards.md; shard 0 until a rotation).
 */
export async function runLogCheckpoint(
  { dataDir }: Globals,
  opts: { json?: boolean },
): Promise<void> {
  const checkpoint = await withEngine(dataDir, async ({ engine }) =>
    (await engine.logs.active()).checkpoint(),
  );
  if (opts.json === true) {
    printJson({
      size: checkpoint.size,
      rootHash: bytesToBase64(checkpoint.rootHash),
      note: checkpoint.note,
      createdAt: checkpoint.createdAt,
    });
    return;
  }
  process.stdout.write(checkpoint.note);
  info(`checkpoint of tree size ${checkpoint.size}, signed ${checkpoint.createdAt}`);
}

/** Audit finding kinds whose index is a checkpoint's tree size. */
const ANCHOR_KINDS = new Set([
  "anchor-beyond-log",
  "anchor-root-mismatch",
  "anchor-checkpoint-missing",
  "anchor-inconsistent",
  "anchor-record-not-on-chain",
  "anchor-record-mismatch",
]);

/**
 * `chaoscore log audit`: the stored log against itself and, with a chain (--rpc,
 * CHAOSCORE_RPC_URL or chain.json), against every checkpoint the CheckpointAnchor contract
 * holds for each shard of its family (each under its own origin). Reads one snapshot.
 * Exit code 1 when there is any finding.
 */
export async function runLogAudit(
  { dataDir }: Globals,
  opts: {
    json?: boolean;
    rpc?: string;
    contract?: string;
    chain?: boolean;
    repairAnchors?: boolean;
  },
): Promise<void> {
  const started = performance.now();
  const { readConfig } = await import("../data-dir.js");
  const config = await readConfig(dataDir);
  // The chain first (no database transaction held across RPC calls). Each shard of the
  // family is anchored under its own origin (docs/spec/shards.md §2): read every one's history.
  const rpcUrl = opts.chain === false ? undefined : await auditRpcUrl(dataDir, opts.rpc);
  const histories: { id: string; origin: string; history: ChainHistory }[] = [];
  if (rpcUrl !== undefined) {
    const shards = await withEngine(dataDir, async ({ engine }) =>
      (await engine.logs.list()).map((s) => ({ id: s.id, origin: s.origin })),
    );
    for (const shard of shards) {
      const history = await readChainHistory(dataDir, shard.origin, {
        rpcUrl,
        ...(opts.contract === undefined ? {} : { contract: opts.contract }),
      });
      histories.push({ ...shard, history });
    }
  }
  const chain = histories.find((h) => h.origin === config.log.origin)?.history;
  const { auditAnchoredCheckpoints } = await import("@chaoscore/log");
  const { auditStoredAnchors } = await import("@chaoscore/anchoring");
  // Final anchor records checked against the chain, per shard id.
  const recordsChecked = new Map<string, number>();
  const recordFindings: AnchorRecordFinding[] = [];
  const report = await withEngine(
    dataDir,
    async ({ engine, db }) => {
      const own = await engine.agency.audit((done, total) => {
        if (total < PROGRESS_FROM) return;
        const line = `auditing: ${done}/${total} leaves (${Math.round((100 * done) / total)}%)`;
        if (process.stderr.isTTY) process.stderr.write(`\r${line}${done === total ? "\n" : ""}`);
        else info(line);
      });
      const anchored: { index: number; kind: string; message: string }[] = [];
      for (const { id, origin, history } of histories) {
        const log = await engine.logs.get(id);
        // The stored anchor records (served at /v1/log/anchors and in receipts) name what the chain holds.
        const records = await auditStoredAnchors(db, { id, origin }, history);
        recordsChecked.set(id, records.checked);
        recordFindings.push(...records.findings);
        for (const f of [
          ...(await auditAnchoredCheckpoints(log, history.checkpoints)),
          ...records.findings,
        ]) {
          anchored.push(id === engine.log.id ? f : { ...f, message: `shard ${id}: ${f.message}` });
        }
      }
      const findings: { index: number; kind: string; message: string }[] = [
        ...own.findings,
        ...anchored,
      ];
      return { ...own, findings };
    },
    { snapshot: true },
  );
  // --repair-anchors: records whose size and root the contract holds at another index take it.
  const repaired =
    opts.repairAnchors === true && recordFindings.length > 0
      ? await withEngine(dataDir, async ({ db }) => {
          const { repairStoredAnchors } = await import("@chaoscore/anchoring");
          return await repairStoredAnchors(db, recordFindings);
        })
      : [];
  const seconds = ((performance.now() - started) / 1000).toFixed(2);
  if (report.findings.length > 0) process.exitCode = 1;
  const onChain =
    chain === undefined
      ? null
      : {
          rpcUrl: chain.rpcUrl,
          chainId: chain.chainId,
          contract: chain.contract,
          anchored: histories.reduce((n, h) => n + h.history.checkpoints.length, 0),
          lastAnchoredSize: chain.checkpoints.at(-1)?.size ?? null,
          records: [...recordsChecked.values()].reduce((n, c) => n + c, 0),
          shards: histories.map((h) => ({
            id: h.id,
            origin: h.origin,
            anchored: h.history.checkpoints.length,
            lastAnchoredSize: h.history.checkpoints.at(-1)?.size ?? null,
            records: recordsChecked.get(h.id) ?? 0,
          })),
        };
  if (opts.json === true) {
    printJson({
      ok: report.findings.length === 0,
      size: report.size,
      rootHash: bytesToBase64(report.rootHash),
      checkpoints: report.checkpoints,
      // `size` sums the shards; `rootHash` is the active (last) shard's: each shard's own here.
      shards: report.shards.map((s) => ({
        id: s.id,
        origin: s.origin,
        size: s.size,
        rootHash: bytesToBase64(s.rootHash),
        checkpoints: s.checkpoints,
      })),
      chain: onChain,
      findings: report.findings,
      ...(opts.repairAnchors === true ? { repaired } : {}),
    });
    return;
  }
  const chainLine =
    onChain === null
      ? opts.chain === false
        ? "not checked against the chain (--no-chain)"
        : "not checked against the chain (no chain configured: pass --rpc URL [--contract 0x…])"
      : `${count(onChain.anchored, "anchored checkpoint")}${onChain.shards.length > 1 ? ` of ${onChain.shards.length} shards` : ""} of contract ${onChain.contract} on chain ${onChain.chainId} and ${count(onChain.records, "stored anchor record")} checked`;
  if (report.findings.length === 0) {
    out(
      `✓ log audit clean: ${treeLine(report)}, ` +
        `${count(report.checkpoints, "checkpoint")} verified, ${chainLine}`,
    );
    info(`audited in ${seconds} s`);
    return;
  }
  for (const f of report.findings) {
    // Checkpoint findings carry the checkpoint's tree size, not a leaf index.
    const where = CHECKPOINT_KINDS.has(f.kind)
      ? `checkpoint (size ${f.index})`
      : ANCHOR_KINDS.has(f.kind)
        ? `anchored checkpoint (size ${f.index})`
        : `leaf ${f.index}`;
    const shard = "log" in f && typeof f.log === "string" ? `${f.log} ` : "";
    out(`✗ ${shard}${where}  ${f.kind}  ${f.message}`);
  }
  for (const r of repaired) {
    out(
      `↻ anchor record ${r.anchorId}: index ${r.from ?? "none"} → ${r.to} (mined again: the next reconcile of \`chaoscore anchor\` or an anchoring gateway makes it final)`,
    );
  }
  info(
    `log audit failed: ${count(report.findings.length, "finding")} in ${count(report.size, "leaf", "leaves")}; ${chainLine} (${seconds} s)`,
  );
}

/**
 * The audited tree(s) in one phrase: one shard's size and root, or the family's total and the
 * active shard's own size and root (a root is a shard's, never the family's).
 */
function treeLine(report: {
  size: number;
  rootHash: Uint8Array;
  shards: readonly { id: string; size: number }[];
}): string {
  const active = report.shards.at(-1);
  if (report.shards.length <= 1 || active === undefined) {
    return `${count(report.size, "leaf", "leaves")}, root ${bytesToBase64(report.rootHash)}`;
  }
  return (
    `${count(report.size, "leaf", "leaves")} in ${report.shards.length} shards, ` +
    `active shard ${active.id}: ${count(active.size, "leaf", "leaves")}, root ${bytesToBase64(report.rootHash)}`
  );
}

/** `chaoscore log status`. */
export async function runLogStatus({ dataDir }: Globals, opts: { json?: boolean }): Promise<void> {
  const status = await withEngine(dataDir, async ({ engine, config, db }) => {
    const latest = await engine.log.latestCheckpoint();
    const shards = await engine.logs.list();
    const active = shards.find((s) => s.state === "active");
    return {
      id: engine.log.id,
      origin: engine.log.origin,
      verifierKey: engine.log.verifierKey,
      chainId: config.chainId,
      database: db.kind,
      size: await engine.log.size(),
      latestCheckpoint:
        latest === undefined
          ? null
          : {
              size: latest.size,
              rootHash: bytesToBase64(latest.rootHash),
              createdAt: latest.createdAt,
            },
      // the log family (docs/spec/shards.md): the above is shard 0, the family's own log
      shards: shards.length,
      activeShard:
        active === undefined ? null : { id: active.id, origin: active.origin, size: active.size },
    };
  });
  if (opts.json === true) return printJson(status);
  const cp = status.latestCheckpoint;
  printFields([
    ["log", `${status.origin} (id ${status.id})`],
    ["verifier key", status.verifierKey],
    ["chain id", status.chainId],
    ["database", status.database === "pglite" ? `PGlite in ${dataDir}/pgdata` : "Postgres server"],
    ["size", count(status.size, "leaf", "leaves")],
    [
      "checkpoint",
      cp === null
        ? "none yet (chaoscore log checkpoint)"
        : `size ${cp.size}, root ${cp.rootHash}, signed ${cp.createdAt}` +
          (cp.size < status.size
            ? ` (${count(status.size - cp.size, "leaf", "leaves")} behind)`
            : ""),
    ],
    [
      "shards",
      status.shards <= 1 || status.activeShard === null
        ? undefined
        : `${status.shards}; active ${status.activeShard.id} (${status.activeShard.origin}), ${count(status.activeShard.size, "leaf", "leaves")} (chaoscore log shards)`,
    ],
  ]);
}
