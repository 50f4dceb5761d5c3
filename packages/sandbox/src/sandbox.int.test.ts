import {
  attestationHash,
  type ErrorCode,
  type Hex,
  hashExecutionOutput,
  isChaosCoreError,
  parseRecordedExecution,
  verifyRecordedExecution,
} from "@chaoscore/core";
import { afterAll, describe, expect, it } from "vitest";
import { MockTeeProvider } from "./mock-tee.js";
import { executeAttested, replay } from "./replay.js";
import {
  DEFAULT_EXECUTION_LIMITS,
  RUNTIME_IDENTITY,
  SecureExecutionEnvironment,
  seedWords,
  transpileTypeScript,
} from "./sandbox.js";

const NONCE: Hex = `0x${"01".repeat(32)}`;
const sandbox = new SecureExecutionEnvironment();
afterAll(() => sandbox.close());

/** A small governance task: tally weighted votes and simulate a treasury transfer. */
const PROPOSAL_CODE = `
export default function main(proposal, host) {
  let forVotes = 0, against = 0;
  for (const v of proposal.votes) {
    if (v.support) forVotes += v.weight; else against += v.weight;
  }
  let treasury = proposal.treasury;
  for (let month = 0; month < 12; month++) treasury = treasury * 1.01 - proposal.monthlySpend;
  host.log("tallied", proposal.votes.length, "votes");
  return {
    approve: forVotes > against && treasury > 0,
    forVotes, against,
    treasuryAfterYear: Math.round(treasury),
    sample: Math.floor(host.random() * 1000),
    at: new Date().toISOString(),
  };
}
`;
const PROPOSAL = {
  votes: [
    { support: true, weight: 40 },
    { support: false, weight: 25 },
    { support: true, weight: 10 },
  ],
  treasury: 1_000_000,
  monthlySpend: 20_000,
};

async function codeOf(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    return isChaosCoreError(e) ? e.code : `not a ChaosCoreError: ${String(e)}`;
  }
}

describe("SecureExecutionEnvironment.run", () => {
  it("runs the task and returns output, hashes, measurement, logs and stats", async () => {
    const r = await sandbox.run(PROPOSAL_CODE, PROPOSAL, {
      seed: "task-7",
      clock: Date.UTC(2025, 0, 1),
    });
    expect(r.output).toMatchObject({
      approve: true,
      forVotes: 50,
      against: 25,
      at: "2025-01-01T00:00:00.000Z",
    });
    expect(r.outputHash).toBe(hashExecutionOutput(r.output));
    expect(r.measurement).toBe(sandbox.measure(PROPOSAL_CODE));
    expect(r.logs).toEqual(["tallied 3 votes"]);
    expect(r.gasUsed).toBeGreaterThan(0);
    expect(r.stats.gasUsed).toBe(r.gasUsed);
    expect(r.runtime).toEqual(RUNTIME_IDENTITY);
    expect(r.limits).toEqual(DEFAULT_EXECUTION_LIMITS);
  });

  it("is deterministic: same code, input, seed and clock give the same bytes, in another environment too", async () => {
    const other = new SecureExecutionEnvironment();
    try {
      const a = await sandbox.run(PROPOSAL_CODE, PROPOSAL, { seed: "s" });
      const b = await other.run(PROPOSAL_CODE, PROPOSAL, { seed: "s" });
      const c = await sandbox.run(PROPOSAL_CODE, PROPOSAL, { seed: "t" });
      expect(b.outputHash).toBe(a.outputHash);
      expect(b.gasUsed).toBe(a.gasUsed);
      expect(c.inputHash).not.toBe(a.inputHash);
    } finally {
      await other.close();
    }
  });

  it("meters gas deterministically for a CPU-heavy run, and the budget is exact", async () => {
    const code =
      "export default () => { let x = 0; for (let i = 0; i < 3e5; i++) x = (x + i) % 1000003; return x }";
    const a = await sandbox.run(code, null);
    const b = await sandbox.run(code, null);
    expect(a.gasUsed).toBeGreaterThan(3e5);
    expect(b.gasUsed).toBe(a.gasUsed);
    // exactly the gas it needs passes (with the same output); one unit less is the CPU limit
    const exact = await sandbox.run(code, null, { limits: { gas: a.gasUsed } });
    expect(exact.output).toBe(a.output);
    expect(exact.gasUsed).toBe(a.gasUsed);
    expect(await codeOf(sandbox.run(code, null, { limits: { gas: a.gasUsed - 1 } }))).toBe(
      "EXECUTION_CPU_LIMIT",
    );
  });

  it("uses the PRNG seeded from SHA-256(seed) (xoshiro128**)", async () => {
    expect(seedWords("")).toEqual([0xe3b0c442, 0x98fc1c14, 0x9afbf4c8, 0x996fb924]);
    const r = await sandbox.run("export default () => [Math.random(), Math.random()]", null);
    const again = await sandbox.run(
      "export default (i, host) => [host.random(), host.random()]",
      null,
    );
    expect(again.output).toEqual(r.output);
  });

  it("supports a `main` export, async functions and top-level await", async () => {
    expect((await sandbox.run("export function main(x) { return x * 2 }", 21)).output).toBe(42);
    expect(
      (await sandbox.run("export default async (x) => { await null; return x }", "a")).output,
    ).toBe("a");
    expect(
      (await sandbox.run("const v = await Promise.resolve(7); export default () => v", null))
        .output,
    ).toBe(7);
  });

  it("transpiles TypeScript first and measures the JavaScript", async () => {
    const ts = "export default function main(p: { n: number }): number { return p.n + 1 }";
    const r = await sandbox.run(ts, { n: 1 }, { language: "typescript" });
    expect(r.output).toBe(2);
    expect(r.code).toBe(await transpileTypeScript(ts));
    expect(r.code).not.toContain(": number");
    expect(r.measurement).toBe(sandbox.measure(r.code));
    expect(await codeOf(transpileTypeScript("export default (: =>"))).toBe(
      "EXECUTION_COMPILE_ERROR",
    );
  });

  it("stops at the wall clock (interrupt handler)", async () => {
    const error = await sandbox
      .run("export default () => { for (;;) {} }", null, {
        limits: { gas: 2_000_000_000, timeoutMs: 200 },
      })
      .catch((e: unknown) => e);
    expect(isChaosCoreError(error, "EXECUTION_TIMEOUT")).toBe(true);
  });

  it("terminates the worker when a builtin does not yield (backstop), then recovers", async () => {
    // a gas budget far above what the wall clock allows: the native loop never
    // reaches the interrupt handler, so only the parent's backstop ends it
    const strict = new SecureExecutionEnvironment({
      backstopGraceMs: 0,
      workers: 1,
      limits: { timeoutMs: 20, gas: 2 ** 50 },
    });
    try {
      const error = await strict
        .run("export default () => [].indexOf.call({ length: 2 ** 40 }, 1)", null)
        .catch((e: unknown) => e);
      expect(isChaosCoreError(error, "EXECUTION_TIMEOUT")).toBe(true);
      expect((error as { details: { backstop?: boolean } }).details.backstop).toBe(true);
      const alive = await strict.run("export default () => 'alive'", null, {
        limits: { timeoutMs: 10_000 },
      });
      expect(alive.output).toBe("alive");
    } finally {
      await strict.close();
    }
  });

  it("refuses bad requests with EXECUTION_BAD_INPUT", async () => {
    const bad: [string, unknown, object][] = [
      ["export default () => 1", { n: 1n }, {}],
      ["export default () => 1", { s: "\ud800" }, {}],
      ["export default () => 1", null, { seed: "x".repeat(1025) }],
      ["export default () => 1", null, { clock: 1.5 }],
      ["export default () => 1", null, { limits: { memoryBytes: 0 } }],
      // below the runtime's own needs: refused up front, not a sandbox failure (found by the reliability fuzz)
      ["export default () => 1", null, { limits: { memoryBytes: 18 } }],
      ["export default () => 1", null, { limits: { stackBytes: 1024 } }],
      ["export default () => 1", null, { limits: { stackBytes: 64 * 1024 * 1024 } }],
      ["export default () => 1", null, { limits: { nope: 1 } }],
      ["export default () => 1", null, { language: "python" }],
    ];
    for (const [code, input, options] of bad) {
      expect(await codeOf(sandbox.run(code, input, options)), JSON.stringify(options)).toBe(
        "EXECUTION_BAD_INPUT",
      );
    }
  });

  it("runs at the smallest limits, and breaking them is the code's coded failure", async () => {
    const limits = { memoryBytes: 1024 * 1024, stackBytes: 32 * 1024 };
    expect((await sandbox.run("export default (n) => n + 1", 1, { limits })).output).toBe(2);
    expect(
      await codeOf(
        sandbox.run(
          "export default () => { const a = []; for (;;) a.push('x'.repeat(100)); }",
          null,
          { limits },
        ),
      ),
    ).toBe("EXECUTION_MEMORY_LIMIT");
    expect(
      await codeOf(
        sandbox.run("export default () => { const f = (n) => f(n + 1) + 1; return f(0); }", null, {
          limits,
        }),
      ),
    ).toBe("EXECUTION_STACK_OVERFLOW");
  });

  it("gives a measurement that changes with the code and the limits", () => {
    const m = sandbox.measure("export default () => 1");
    expect(sandbox.measure("export default () => 1")).toBe(m);
    expect(sandbox.measure("export default () => 2")).not.toBe(m);
    expect(sandbox.measure("export default () => 1", { gas: 1 })).not.toBe(m);
  });
});

describe("MockTeeProvider", () => {
  const now = 1_767_225_600;
  const tee = new MockTeeProvider({ now: () => now });
  const policy = { trustedRoots: tee.trustedRoots, maxAgeSeconds: 300, now };

  it("attests and verifies; a provider loaded from the exported root key is trusted alike", async () => {
    const measurement: Hex = `0x${"aa".repeat(32)}`;
    const reportData: Hex = `0x${"bb".repeat(32)}`;
    const quote = await tee.attest(measurement, reportData, NONCE);
    expect(tee.verify(quote, { ...policy, allowedMeasurements: [measurement] }).quote).toEqual(
      quote,
    );
    const reloaded = new MockTeeProvider({ rootKey: tee.exportRootKey(), now: () => now });
    expect(reloaded.trustedRoots).toEqual(tee.trustedRoots);
    const q2 = await reloaded.attest(measurement, reportData, NONCE);
    expect(tee.verify(q2, policy).root).toBe(tee.rootPublicKey);
  });

  it("refuses a quote from a provider with another root", async () => {
    const foreign = new MockTeeProvider({ now: () => now });
    const quote = await foreign.attest(`0x${"aa".repeat(32)}`, `0x${"bb".repeat(32)}`, NONCE);
    expect(await codeOf(Promise.resolve().then(() => tee.verify(quote, policy)))).toBe(
      "ATTESTATION_CHAIN_INVALID",
    );
  });

  it("refuses a mismatched key pair", () => {
    const a = MockTeeProvider.generateRootKey();
    const b = MockTeeProvider.generateRootKey();
    expect(
      () => new MockTeeProvider({ rootKey: { secretKey: a.secretKey, publicKey: b.publicKey } }),
    ).toThrow(/does not match/);
  });
});

describe("executeAttested", () => {
  const tee = MockTeeProvider.create();

  it("runs, attests, and the record verifies offline and replays", async () => {
    const attested = await executeAttested(PROPOSAL_CODE, PROPOSAL, {
      provider: tee,
      nonce: NONCE,
      seed: "task-7",
      sandbox,
    });
    expect(attested.attestationHash).toBe(attestationHash(attested.quote));
    expect(attested.quote.measurement).toBe(attested.result.measurement);
    const recorded = parseRecordedExecution(JSON.parse(JSON.stringify(attested.recorded)));
    const verified = verifyRecordedExecution(recorded, {
      trustedRoots: tee.trustedRoots,
      allowedMeasurements: [sandbox.measure(PROPOSAL_CODE)],
      maxAgeSeconds: 60,
      now: Math.floor(Date.now() / 1000),
    });
    expect(verified.attestationHash).toBe(attested.attestationHash);
    const replayed = await replay(recorded, { sandbox });
    expect(replayed.outputHash).toBe(attested.result.outputHash);
  });

  it("issues no quote for a failed run", async () => {
    let attested = 0;
    const counting = {
      name: "counting",
      trustedRoots: tee.trustedRoots,
      attest: async (m: Hex, r: Hex, n: Hex) => {
        attested++;
        return tee.attest(m, r, n);
      },
      verify: tee.verify.bind(tee),
    };
    const codes: (ErrorCode | string | null)[] = [];
    for (const code of [
      "export default () => { for (;;) {} }",
      "export default () => { throw 1 }",
    ]) {
      codes.push(
        await codeOf(
          executeAttested(code, null, {
            provider: counting,
            nonce: NONCE,
            sandbox,
            limits: { gas: 2_000_000 },
          }),
        ),
      );
    }
    expect(codes).toEqual(["EXECUTION_CPU_LIMIT", "EXECUTION_CODE_ERROR"]);
    expect(attested).toBe(0);
  });

  it("refuses a malformed nonce", async () => {
    expect(
      await codeOf(executeAttested("export default () => 1", null, { provider: tee, nonce: "0x" })),
    ).toBe("EXECUTION_BAD_INPUT");
  });
});

describe("replay", () => {
  it("confirms a matching output hash and measurement", async () => {
    const r = await sandbox.run(PROPOSAL_CODE, PROPOSAL, { seed: "x", clock: 5 });
    const again = await replay(
      {
        code: r.code,
        input: PROPOSAL,
        seed: "x",
        clock: 5,
        expectedOutputHash: r.outputHash,
        measurement: r.measurement,
      },
      { sandbox },
    );
    expect(again.outputHash).toBe(r.outputHash);
  });

  it("reports EXECUTION_REPLAY_MISMATCH for another output, seed, measurement or a failing run", async () => {
    const r = await sandbox.run(PROPOSAL_CODE, PROPOSAL, { seed: "x" });
    const base = { code: r.code, input: PROPOSAL, seed: "x", expectedOutputHash: r.outputHash };
    const mismatches = [
      { ...base, expectedOutputHash: hashExecutionOutput({ approve: false }) },
      { ...base, seed: "y" },
      { ...base, measurement: `0x${"00".repeat(32)}` as Hex },
      { ...base, code: "export default () => { throw new Error('x') }" },
    ];
    for (const m of mismatches) {
      expect(await codeOf(replay(m, { sandbox }))).toBe("EXECUTION_REPLAY_MISMATCH");
    }
    expect(await codeOf(replay({ ...base, expectedOutputHash: "0x12" as Hex }, { sandbox }))).toBe(
      "EXECUTION_BAD_INPUT",
    );
  });
});
