/**
 * Issue 21 (memory bound, host-decided outcomes) and issue 19 item 8
 * (server-side maxima, a pool of workers, recycling a worker whose memory
 * grew), against the real QuickJS engine.
 */
import { type ExecutionLimits, isChaosCoreError } from "@chaoscore/core";
import { afterAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MAX_LIMITS,
  ENGINE_IMAGE_BYTES,
  MAX_EXECUTION_LIMITS,
  resolveLimits,
  SecureExecutionEnvironment,
} from "./sandbox.js";

const MiB = 1024 * 1024;

async function failure(p: Promise<unknown>) {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!isChaosCoreError(e)) throw new Error(`expected a coded failure, got ${String(e)}`);
  return e as typeof e & { details: { stats?: { memoryBytes: number; gasUsed: number } } };
}

describe("the memory bound", () => {
  const sandbox = new SecureExecutionEnvironment({ workers: 1, limits: { memoryBytes: 16 * MiB } });
  afterAll(() => sandbox.close());
  const cap = ENGINE_IMAGE_BYTES + 16 * MiB;

  for (const [what, code] of [
    [
      "typed arrays",
      "export default () => { const k = []; for (;;) k.push(new Float64Array(1 << 17)); }",
    ],
    ["one large ArrayBuffer", "export default () => new ArrayBuffer(64 * 1024 * 1024).byteLength"],
    [
      "strings",
      "export default () => { const k = []; for (let i = 0; ; i++) k.push('y'.repeat(1 << 16) + i); }",
    ],
    // (a rope is flattened when read; an unread rope hits the engine's string length limit instead)
    [
      "a doubled string, read",
      "export default () => { let s = 'x'; for (;;) { s += s; s.charCodeAt(s.length - 1); } }",
    ],
  ] as const) {
    it(`holds for ${what}: EXECUTION_MEMORY_LIMIT, and the memory never grew past memoryBytes + the engine image`, async () => {
      const e = await failure(sandbox.run(code, null));
      expect(e.code).toBe("EXECUTION_MEMORY_LIMIT");
      expect(e.details.stats?.memoryBytes).toBeLessThanOrEqual(cap);
    });
  }

  it("holds at the smallest memoryBytes too (the engine starts at its image size, not 16 MiB)", async () => {
    const small = new SecureExecutionEnvironment({ workers: 1, limits: { memoryBytes: MiB } });
    try {
      const e = await failure(
        small.run(
          "export default () => { const k = []; for (;;) k.push(new Uint8Array(1 << 16)); }",
          null,
        ),
      );
      expect(e.code).toBe("EXECUTION_MEMORY_LIMIT");
      expect(e.details.stats?.memoryBytes).toBeLessThanOrEqual(ENGINE_IMAGE_BYTES + MiB);
      expect((await small.run("export default () => 'fits'", null)).output).toBe("fits");
    } finally {
      await small.close();
    }
  });

  it("lets a run use most of its memoryBytes", async () => {
    const r = await sandbox.run(
      "export default () => new Uint8Array(12 * 1024 * 1024).length",
      null,
    );
    expect(r.output).toBe(12 * MiB);
    expect(r.stats.memoryBytes).toBeLessThanOrEqual(cap);
  });
});

describe("server-side maxima", () => {
  it("refuses a run over the maxima with EXECUTION_BAD_INPUT before it starts", async () => {
    const sandbox = new SecureExecutionEnvironment({ workers: 1 });
    try {
      for (const limits of [
        { timeoutMs: 600_000 },
        { memoryBytes: 1024 * MiB },
        { gas: DEFAULT_MAX_LIMITS.gas + 1 },
      ] as Partial<ExecutionLimits>[]) {
        const e = await failure(sandbox.run("export default () => 1", null, { limits }));
        expect(e.code, JSON.stringify(limits)).toBe("EXECUTION_BAD_INPUT");
        expect(e.details).not.toHaveProperty("stats"); // nothing ran
      }
      expect(() => sandbox.measure("export default () => 1", { timeoutMs: 600_000 })).toThrow(
        /timeoutMs/,
      );
    } finally {
      await sandbox.close();
    }
  });

  it("are configurable up to the engine's bounds, and never below the environment's own defaults", () => {
    const raised = new SecureExecutionEnvironment({ maxLimits: { timeoutMs: 60_000 } });
    expect(raised.maxLimits.timeoutMs).toBe(60_000);
    const own = new SecureExecutionEnvironment({ limits: { timeoutMs: 20_000 } });
    expect(own.maxLimits.timeoutMs).toBe(20_000);
    expect(own.maxLimits.memoryBytes).toBe(DEFAULT_MAX_LIMITS.memoryBytes);
    expect(
      () =>
        new SecureExecutionEnvironment({
          maxLimits: { timeoutMs: MAX_EXECUTION_LIMITS.timeoutMs + 1 },
        }),
    ).toThrow(/timeoutMs/);
    expect(() => resolveLimits({ memoryBytes: 65 * MiB }, undefined, DEFAULT_MAX_LIMITS)).toThrow(
      /memoryBytes/,
    );
  });
});

describe("the worker pool", () => {
  it("runs jobs on several workers and answers each correctly", async () => {
    const sandbox = new SecureExecutionEnvironment({ workers: 2 });
    try {
      const runs = await Promise.all(
        [1, 2, 3, 4, 5].map((n) => sandbox.run("export default (n) => n * n", n)),
      );
      expect(runs.map((r) => r.output)).toEqual([1, 4, 9, 16, 25]);
      const same = await Promise.all(
        [7, 7, 7, 7].map((n) => sandbox.run("export default (n) => n * n", n)),
      );
      expect(new Set(same.map((r) => r.gasUsed)).size).toBe(1); // same run, same gas, on either worker
    } finally {
      await sandbox.close();
    }
  });

  it("replaces a worker after a run that grew its memory, and keeps running", async () => {
    const sandbox = new SecureExecutionEnvironment({ workers: 1, recycleAboveBytes: 32 * MiB });
    try {
      await sandbox.run("export default () => 1", null);
      expect(sandbox.pool.recycled).toBe(0);
      await sandbox.run("export default () => new Uint8Array(40 * 1024 * 1024).length", null);
      expect(sandbox.pool.recycled).toBe(1);
      const e = await failure(
        sandbox.run(
          "export default () => { const k = []; for (;;) k.push(new Uint8Array(1 << 20)); }",
          null,
        ),
      );
      expect(e.code).toBe("EXECUTION_MEMORY_LIMIT");
      expect(sandbox.pool.recycled).toBe(2);
      expect((await sandbox.run("export default () => 'alive'", null)).output).toBe("alive");
      expect(sandbox.pool.recycled).toBe(2);
    } finally {
      await sandbox.close();
    }
  });

  it("refuses a bad pool size", () => {
    expect(() => new SecureExecutionEnvironment({ workers: 0 })).toThrow(/workers/);
    expect(() => new SecureExecutionEnvironment({ workers: 1.5 })).toThrow(/workers/);
  });
});
