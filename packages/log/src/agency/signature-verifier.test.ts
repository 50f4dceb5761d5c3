import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Hex, isChaosCoreError, privateKeyToAddress, signDigest } from "@chaoscore/core";
import { afterEach, describe, expect, it } from "vitest";
import { chunkSize, MIN_CHUNK, WorkerSignatureVerifier } from "./signature-verifier.js";

const REAL_WORKER = new URL("./recover-worker.mjs", import.meta.url);

/**
 * The real worker, wrapped so that it dies (exit code 70) on a message whose
 * first digest starts with 0xff: a crash where the real one would answer.
 */
const CRASHING_WORKER = new URL(
  `data:text/javascript,${encodeURIComponent(`
import { parentPort } from "node:worker_threads";
const on = parentPort.on.bind(parentPort);
parentPort.on = (event, listener) =>
  on(event, event !== "message" ? listener : (m) => {
    if (m.digests[0] === 0xff) process.exit(70);
    listener(m);
  });
await import(${JSON.stringify(REAL_WORKER.href)});
`)}`,
);

/** The real worker, wrapped so that it starts on every message after its first 300 ms late. */
const SLOW_AFTER_FIRST_WORKER = new URL(
  `data:text/javascript,${encodeURIComponent(`
import { parentPort } from "node:worker_threads";
const on = parentPort.on.bind(parentPort);
let seen = 0;
parentPort.on = (event, listener) =>
  on(event, event !== "message" ? listener : (m) => {
    if (m.digests === undefined || seen++ === 0) listener(m);
    else setTimeout(() => listener(m), 300);
  });
await import(${JSON.stringify(REAL_WORKER.href)});
`)}`,
);

function signed(n: number, firstByte?: number) {
  const key = Uint8Array.from(randomBytes(32));
  const address = privateKeyToAddress(key);
  return Array.from({ length: n }, () => {
    const digest = Uint8Array.from(randomBytes(32));
    if (firstByte !== undefined) digest[0] = firstByte;
    else if (digest[0] === 0xff) digest[0] = 0;
    return { digest, signature: signDigest(digest, key) as Hex, address };
  });
}

const codeOf = (e: unknown) => (isChaosCoreError(e) ? e.code : e);

let pool: WorkerSignatureVerifier | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe("WorkerSignatureVerifier", () => {
  it("recovers every signer", async () => {
    pool = new WorkerSignatureVerifier(2, { chunk: 16 });
    const items = signed(100);
    const got = await Promise.all(items.map((s) => pool!.recover(s.digest, s.signature)));
    expect(got).toEqual(items.map((s) => s.address));
  });

  it("splits what it sends at once so that every worker gets two chunks, none under MIN_CHUNK", () => {
    expect(chunkSize(128, 256, 1)).toBe(64);
    expect(chunkSize(128, 256, 2)).toBe(MIN_CHUNK);
    expect(chunkSize(1000, 256, 1)).toBe(256);
    expect(chunkSize(10, 256, 4)).toBe(MIN_CHUNK);
    expect(chunkSize(100, 16, 1)).toBe(16); // the option stays the most per message
  });

  it("answers the first chunk of a flush while it still recovers the second", async () => {
    pool = new WorkerSignatureVerifier(1, { workerUrl: SLOW_AFTER_FIRST_WORKER });
    await pool.ready();
    const items = signed(128);
    const answered: boolean[] = items.map(() => false);
    const all = items.map((s, i) =>
      pool!.recover(s.digest, s.signature).then((address) => {
        answered[i] = true;
        return address;
      }),
    );
    await all[0];
    await new Promise((resolve) => setImmediate(resolve));
    // the first 64 are in; the second message waits in the worker
    expect(answered.filter(Boolean).length).toBe(64);
    expect(await Promise.all(all)).toEqual(items.map((s) => s.address));
  });

  it("replaces a worker killed mid-batch and recovers its signatures on another", async () => {
    pool = new WorkerSignatureVerifier(1, { chunk: 64 });
    const items = signed(2000);
    const answers = items.map((s) => pool!.recover(s.digest, s.signature));
    // Let the pool send its chunks, then kill the worker that holds them.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const before = pool.threadIds[0];
    await pool.killWorker(0);
    expect(await Promise.all(answers)).toEqual(items.map((s) => s.address));
    expect(pool.restarts).toBe(1);
    expect(pool.resent).toBeGreaterThan(0);
    expect(pool.threadIds[0]).not.toBe(before);
    // the new worker serves new requests
    const [next] = signed(1);
    expect(await pool.recover(next!.digest, next!.signature)).toBe(next!.address);
  });

  it("fails a chunk that kills its worker twice with AGENCY_VERIFIER_UNAVAILABLE, and goes on", async () => {
    pool = new WorkerSignatureVerifier(1, { workerUrl: CRASHING_WORKER });
    const [poison] = signed(1, 0xff);
    const error = await pool.recover(poison!.digest, poison!.signature).catch((e) => e);
    expect(codeOf(error)).toBe("AGENCY_VERIFIER_UNAVAILABLE");
    expect(pool.restarts).toBe(2);
    expect(pool.resent).toBe(1);
    const items = signed(10);
    expect(await Promise.all(items.map((s) => pool!.recover(s.digest, s.signature)))).toEqual(
      items.map((s) => s.address),
    );
  });

  it("answers every pending request when closed", async () => {
    pool = new WorkerSignatureVerifier(1);
    const items = signed(500);
    const answers = Promise.allSettled(items.map((s) => pool!.recover(s.digest, s.signature)));
    await pool.close();
    for (const a of await answers) {
      if (a.status === "rejected") expect(codeOf(a.reason)).toBe("AGENCY_VERIFIER_UNAVAILABLE");
    }
    expect(codeOf(await pool.recover(items[0]!.digest, items[0]!.signature).catch((e) => e))).toBe(
      "AGENCY_VERIFIER_UNAVAILABLE",
    );
  });
});

/**
 * The nice value of each thread of this process by thread id (Linux:
 * /proc/self/task/<tid>/stat, field 19).
 */
function threadNices(): Map<string, number> {
  const nices = new Map<string, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "latin1");
      nices.set(tid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
    } catch {
      // the thread ended while we read
    }
  }
  return nices;
}

/**
 * The nice values of the threads started since `before` was read. Threads are
 * told apart by id, so one left over from an earlier test (a closed pool's
 * worker still ending) that ends meanwhile changes nothing here.
 */
function newThreadNices(before: Map<string, number>): number[] {
  return [...threadNices()].filter(([tid]) => !before.has(tid)).map(([, nice]) => nice);
}

describe.skipIf(process.platform !== "linux")("WorkerSignatureVerifier's priority", () => {
  const own = () => {
    const stat = readFileSync("/proc/thread-self/stat", "latin1");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  };

  it("runs its workers below the thread that created it, by 10 unless told", async () => {
    const below = Math.min(19, own() + 10);
    const before = threadNices();
    pool = new WorkerSignatureVerifier(2, { chunk: 8 });
    const items = signed(64);
    await Promise.all(items.map((s) => pool!.recover(s.digest, s.signature)));
    // At least the two workers: a thread that a worker starts after lowering
    // itself inherits its nice value (one more was seen once, under CI's load).
    expect(newThreadNices(before).filter((n) => n === below).length).toBeGreaterThanOrEqual(2);
    expect(own()).toBe(below - 10);
  });

  it("leaves them at the same priority with nice 0", async () => {
    const before = threadNices();
    pool = new WorkerSignatureVerifier(2, { chunk: 8, nice: 0 });
    const items = signed(64);
    await Promise.all(items.map((s) => pool!.recover(s.digest, s.signature)));
    const started = newThreadNices(before);
    // the two workers at least (a CI run once saw an earlier test's worker,
    // lowered by 10, end while this one ran: counting all threads then failed)
    expect(started.length).toBeGreaterThanOrEqual(2);
    expect(started.filter((n) => n !== own())).toEqual([]);
  });
});

describe("WorkerSignatureVerifier and the process's life", () => {
  /** Runs `body` as a module of its own (core and the pool imported), never closing the pool. */
  function runAlone(body: string): { status: number | null; stdout: string } {
    const core = new URL("../../../core/src/index.ts", import.meta.url).href;
    const verifier = new URL("./signature-verifier.ts", import.meta.url).href;
    const dir = mkdtempSync(join(tmpdir(), "chaoscore-sigwait-"));
    const file = join(dir, "alone.mjs");
    writeFileSync(
      file,
      `import { privateKeyToAddress, signDigest } from ${JSON.stringify(core)};
      import { WorkerSignatureVerifier } from ${JSON.stringify(verifier)};
      ${body}`,
    );
    const child = spawnSync(process.execPath, ["--import", "tsx", file], {
      encoding: "utf8",
      timeout: 60_000,
    });
    rmSync(dir, { recursive: true, force: true });
    return { status: child.status, stdout: child.stdout };
  }

  it("keeps a process that awaits only a signature alive until it is answered, then lets it exit", () => {
    // Top-level await on the pool alone, never closed: with idle workers unref'd
    // and busy ones not ref'd, Node exits with code 13 before the answer.
    const child = runAlone(`
      const key = new Uint8Array(32).fill(7);
      const digest = new Uint8Array(32).fill(9);
      const pool = new WorkerSignatureVerifier(1);
      const signer = await pool.recover(digest, signDigest(digest, key));
      process.stdout.write(signer === privateKeyToAddress(key) ? "recovered" : "wrong signer");`);
    expect(child).toEqual({ status: 0, stdout: "recovered" });
  });

  it("keeps a process that awaits only ready() alive until the workers have loaded, then lets it exit", () => {
    // Loading workers are ref'd: unref'd from the start, Node exits with code 13 while they load.
    const child = runAlone(`
      const pool = new WorkerSignatureVerifier(2);
      await pool.ready();
      process.stdout.write("ready");`);
    expect(child).toEqual({ status: 0, stdout: "ready" });
  });
});

describe("WorkerSignatureVerifier with workers that cannot start", () => {
  it("stops respawning and recovers on the main thread", async () => {
    const broken = new URL(`data:text/javascript,${encodeURIComponent("process.exit(71);")}`);
    pool = new WorkerSignatureVerifier(1, { workerUrl: broken });
    const early = signed(5);
    // Sent to a worker twice before the pool gives up on workers: these fail, retryable.
    for (const a of await Promise.allSettled(
      early.map((s) => pool!.recover(s.digest, s.signature)),
    )) {
      expect(a.status === "rejected" ? codeOf(a.reason) : a.status).toBe(
        "AGENCY_VERIFIER_UNAVAILABLE",
      );
    }
    while (pool.threadIds.length > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pool.restarts).toBe(4);
    const items = signed(5);
    expect(await Promise.all(items.map((s) => pool!.recover(s.digest, s.signature)))).toEqual(
      items.map((s) => s.address),
    );
  });
});
