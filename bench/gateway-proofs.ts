/**
 * Proof serving of `npm run bench -- gateway`: a log of `leaves` leaves
 * (synthetic 64-byte leaves appended through the log's own writer, 10,000 per
 * transaction), then over HTTP — the gateway on loopback, the load generator
 * in its own process (wrk, see wrk.ts; or autocannon, gateway-reads.ts) —
 * random inclusion proofs/s and random full tiles/s, each cold (right after
 * start) and in the steady state (after every full level-0 tile was read
 * once), with autocannon's steady figures beside wrk's; the `Cache-Control`
 * of a full tile; and the append and inclusion-proof cost at 1,000,000 leaves
 * against a second log of 1,000–6,000 in the same database, measured in
 * alternating rounds.
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { generateNoteKey } from "@chaoscore/core";
import type { Engine } from "@chaoscore/engine";
import { buildGateway, gatewayServices, tileIndexPath } from "@chaoscore/gateway";
import { type Db, TransparencyLog } from "@chaoscore/log";
import { lastJsonLine, outputOf } from "./child-output.js";
import { profileTo } from "./cpu-profile.js";
import { goal } from "./machine.js";
import { type Reads, runWrk } from "./wrk.js";

/** The read-load generator: wrk (its path) or autocannon (gateway-reads.ts). */
export type ReadGenerator = { kind: "wrk"; path: string } | { kind: "autocannon" };

type Opened = { engine: Engine; db: Db; cleanup: () => Promise<void> };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Appends `count` synthetic leaves numbered from `from` to `log`, in one transaction; returns ms. */
async function append(log: TransparencyLog, db: Db, from: number, count: number): Promise<number> {
  const leaves = Array.from({ length: count }, (_, i) => {
    const leaf = new Uint8Array(64);
    new DataView(leaf.buffer).setFloat64(0, from + i);
    leaf.fill(0x61, 8);
    return leaf;
  });
  const start = performance.now();
  let commit: (() => void) | undefined;
  await db.transaction(async (tx) => {
    commit = (await log.appendInTransaction(tx, leaves)).commit;
  });
  commit?.();
  return performance.now() - start;
}

/** Ms per leaf of one append of 1,000 leaves to `log`, from its current size. */
async function appendCost(log: TransparencyLog, db: Db): Promise<number> {
  return (await append(log, db, await log.size(), 1000)) / 1000;
}

/**
 * Ms of `count` in-process inclusion proofs of `log` at its current size,
 * from the database: each on a fresh log object (no nodes held in memory),
 * so that the two sizes compare what the store costs, not what the caches
 * hold. `offset` spreads the leaves of successive calls.
 */
async function proofCosts(
  log: TransparencyLog,
  db: Db,
  count: number,
  offset: number,
): Promise<number[]> {
  const size = await log.size();
  const { id, origin, verifierKey } = log;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const index = Math.floor((((offset + i) * 7919) % 200) * (size / 200));
    const fresh = TransparencyLog.attach(db, { id, origin, verifierKey, signerKey: "" });
    const start = performance.now();
    await fresh.inclusionProof(index, size);
    times.push(performance.now() - start);
  }
  return times;
}

/** A log's median append cost per leaf and inclusion-proof cost (ms). */
type Costs = { append: number; proof: number };

/**
 * The append and proof costs of a small log against the big one, measured in
 * five alternating rounds (one append of 1,000 leaves and 40 proofs on each
 * per round), so that the machine's speed, which drifts within minutes on a
 * VM, weighs on both sizes alike: medians over the rounds.
 */
async function costsSmallAgainstBig(
  small: TransparencyLog,
  big: TransparencyLog,
  db: Db,
): Promise<{ small: Costs; big: Costs }> {
  const samples = (log: TransparencyLog) => ({
    log,
    appends: [] as number[],
    proofs: [] as number[],
  });
  const [atSmall, atBig] = [samples(small), samples(big)];
  for (let round = 0; round < 5; round++) {
    for (const run of [atSmall, atBig]) {
      run.appends.push(await appendCost(run.log, db));
      run.proofs.push(...(await proofCosts(run.log, db, 40, round * 40)));
    }
  }
  const costs = (run: typeof atSmall): Costs => ({
    append: median(run.appends),
    proof: median(run.proofs),
  });
  return { small: costs(atSmall), big: costs(atBig) };
}

/** One pass of random reads: inclusion proofs at `size`, or full level-0 tiles of a log of `size`. */
function runReads(
  generator: ReadGenerator,
  url: string,
  mode: "proof" | "tile",
  size: number,
  connections: number,
  seconds: number,
): Promise<Reads> {
  if (generator.kind === "wrk") {
    const request =
      mode === "proof"
        ? { format: `/v1/log/proofs/inclusion?index=%d&size=${size}`, range: size }
        : {
            paths: Array.from(
              { length: Math.floor(size / 256) },
              (_, i) => `/log/tile/0/${tileIndexPath(i)}`,
            ),
          };
    return runWrk(generator.path, url, request, connections, seconds);
  }
  return outputOf("the read load generator", process.execPath, [
    "--import",
    "tsx",
    join(import.meta.dirname, "gateway-reads.ts"),
    url,
    mode,
    String(size),
    String(connections),
    String(seconds),
  ]).then((out) => lastJsonLine<Reads>(out));
}

/** Runs the proof-serving part; returns whether its goals passed. */
export async function runProofServing(
  open: () => Promise<Opened>,
  chainId: bigint,
  leaves: number,
  connections: number,
  seconds: number,
  log: (message: string) => void,
  generator: ReadGenerator,
  profileDir?: string,
): Promise<boolean> {
  const { engine, db, cleanup } = await open();
  try {
    // The small log (its own key) beside the engine's, which grows to `leaves`.
    const origin = "chaoscore.bench/log/small";
    const small = await TransparencyLog.open(db, {
      id: "bench-small",
      origin,
      ...generateNoteKey(origin),
    });
    await append(small, db, 0, 1000);
    const fillStart = performance.now();
    // (to `leaves` with the five appends of 1,000 of the measurement)
    for (let size = await engine.log.size(); size < leaves - 5000; size = await engine.log.size()) {
      await append(engine.log, db, size, Math.min(10_000, leaves - 5000 - size));
      if (size % 100_000 < 10_000) log(`  proof serving: ${size.toLocaleString("en-US")} leaves…`);
    }
    const fillSeconds = (performance.now() - fillStart) / 1000;
    const smallFrom = await small.size();
    const costs = await costsSmallAgainstBig(small, engine.log, db);
    const { append: append1k, proof: proof1k } = costs.small;
    const { append: appendBig, proof: proofBig } = costs.big;
    const size = await engine.log.size();
    console.log(
      `log of ${size.toLocaleString("en-US")} leaves filled in ${fillSeconds.toFixed(0)} s (${(size / fillSeconds).toFixed(0)} leaves/s, 10,000 per transaction; load ${loadavg()[0]?.toFixed(1)})`,
    );
    console.log(
      `in five alternating rounds, a log of ${smallFrom.toLocaleString("en-US")}–${(smallFrom + 5000).toLocaleString("en-US")} leaves against this one: append per leaf (median of five batches of 1,000) ${append1k.toFixed(4)} ms against ${appendBig.toFixed(4)} ms; inclusion proof in process, from the database (median of 200, no caches) ${proof1k.toFixed(2)} ms against ${proofBig.toFixed(2)} ms`,
    );

    const app = await buildGateway({
      ...gatewayServices({ engine, chainId }),
      logger: false,
      rateLimit: false,
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    let cold: { proofs: Reads; tiles: Reads };
    let steady: { proofs: Reads; tiles: Reads };
    let byAutocannon: { proofs: Reads; tiles: Reads } | undefined;
    let cacheControl: string;
    let warmSeconds: number;
    const loads: string[] = [];
    try {
      const tile = await fetch(`${url}/log/tile/0/001`);
      await tile.arrayBuffer();
      cacheControl = tile.headers.get("cache-control") ?? "";
      const pass = async (name: string) => {
        // With --cpu-prof-dir: a profile of the gateway's thread during each steady pass.
        const profiled = async <T>(what: string, read: () => Promise<T>): Promise<T> => {
          if (name !== "steady" || profileDir === undefined) return await read();
          const file = join(profileDir, `gateway-steady-${what}-${Date.now()}.cpuprofile`);
          const stop = await profileTo(file);
          const result = await read();
          await stop();
          log(`  CPU profile of the gateway's thread during the steady ${what} pass: ${file}`);
          return result;
        };
        log(`  proof serving over HTTP (${name}): inclusion proofs for ${seconds} s…`);
        const proofs = await profiled("proofs", () =>
          runReads(generator, url, "proof", size, connections, seconds),
        );
        log(`  proof serving over HTTP (${name}): full tiles for ${seconds} s…`);
        const tiles = await profiled("tiles", () =>
          runReads(generator, url, "tile", size, connections, seconds),
        );
        loads.push(`${name} load ${loadavg()[0]?.toFixed(1)}`);
        return { proofs, tiles };
      };
      cold = await pass("cold");
      // Every full level-0 tile once, and one proof in each: what a gateway that has run for a while holds.
      const warmStart = performance.now();
      const fullTiles = Math.floor(size / 256);
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < fullTiles) {
            const t = next++;
            const r = await fetch(`${url}/log/tile/0/${tileIndexPath(t)}`);
            await r.arrayBuffer();
            if (!r.ok) throw new Error(`warming: tile answered ${r.status}`);
            // and one proof in it: the log keeps the nodes of a full tile a proof read
            const p = await fetch(`${url}/v1/log/proofs/inclusion?index=${t * 256}&size=${size}`);
            await p.arrayBuffer();
            if (!p.ok) throw new Error(`warming: a proof answered ${p.status}`);
          }
        }),
      );
      warmSeconds = (performance.now() - warmStart) / 1000;
      steady = await pass("steady");
      if (generator.kind === "wrk") {
        // The same steady reads with autocannon, for comparison with earlier figures:
        // what it measures is mostly its own cost on the shared cores.
        log(
          `  proof serving over HTTP (steady, autocannon): proofs and tiles for ${seconds} s each…`,
        );
        const autocannon = { kind: "autocannon" } as const;
        byAutocannon = {
          proofs: await runReads(autocannon, url, "proof", size, connections, seconds),
          tiles: await runReads(autocannon, url, "tile", size, connections, seconds),
        };
      }
    } finally {
      await app.close();
    }
    const rate = (r: Reads) => r.ok / r.seconds;
    // wrk counts the bytes it read: every answer of a full tile carried at least its 8 KiB.
    const perAnswer = (r: Reads) =>
      r.bytes === undefined ? "" : `, ${(r.bytes / r.requests).toFixed(0)} B read per answer`;
    const short = (r: Reads) => (r.bytes !== undefined && r.bytes < r.ok * 8192 ? r.ok : 0);
    const line = (r: Reads) =>
      `${rate(r).toFixed(0)}/s (p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.non2xx + r.errors} failed${perAnswer(r)})`;
    const proofRate = rate(steady.proofs);
    const tileRate = rate(steady.tiles);
    console.log(
      `over HTTP from ${size.toLocaleString("en-US")} leaves, ${connections} connections, ${seconds} s each, ${generator.kind === "wrk" ? "wrk (one thread)" : "autocannon"} in its own process; a full tile's Cache-Control: ${cacheControl}`,
    );
    console.log(
      `  cold (right after start):  inclusion proofs ${line(cold.proofs)}; full level-0 tiles ${line(cold.tiles)}`,
    );
    console.log(
      `  warming: every full level-0 tile (${Math.floor(size / 256)}) and one proof in each read once in ${warmSeconds.toFixed(1)} s`,
    );
    console.log(
      `  steady state (warm caches): inclusion proofs ${line(steady.proofs)}; full level-0 tiles ${line(steady.tiles)}`,
    );
    if (byAutocannon !== undefined) {
      console.log(
        `  steady state, autocannon (same run, for comparison): inclusion proofs ${line(byAutocannon.proofs)}; full level-0 tiles ${line(byAutocannon.tiles)}`,
      );
    }
    console.log(`  (${loads.join(", ")}; the GOAL lines below are on the steady state)`);
    const proofs = { non2xx: 0, errors: 0 };
    const tiles = { non2xx: 0, errors: 0 };
    for (const r of [cold.proofs, steady.proofs, ...(byAutocannon ? [byAutocannon.proofs] : [])]) {
      proofs.non2xx += r.non2xx;
      proofs.errors += r.errors;
    }
    for (const r of [cold.tiles, steady.tiles, ...(byAutocannon ? [byAutocannon.tiles] : [])]) {
      tiles.non2xx += r.non2xx;
      tiles.errors += r.errors + short(r);
    }
    const immutable = /immutable/.test(cacheControl) && /max-age=31536000/.test(cacheControl);
    return [
      goal(
        `gateway_inclusion_proofs_per_s_steady_${size >= 1_000_000 ? "1m" : size}`,
        proofRate,
        2000,
        true,
      ),
      goal(
        `gateway_full_tiles_per_s_steady_${size >= 1_000_000 ? "1m" : size}`,
        tileRate,
        10000,
        true,
      ),
      goal("gateway_full_tile_immutable", immutable ? 1 : 0, 1, true),
      goal(
        "gateway_proof_reads_failed",
        proofs.non2xx + proofs.errors + tiles.non2xx + tiles.errors,
        0,
        false,
      ),
      goal("append_1m_vs_1k_ratio", appendBig / append1k, 1.5, false),
      goal("inclusion_proof_1m_vs_1k_ratio", proofBig / proof1k, 1.5, false),
    ].every(Boolean);
  } finally {
    await cleanup();
  }
}
