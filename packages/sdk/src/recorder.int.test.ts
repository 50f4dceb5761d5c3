import { ChaosCoreError, ZERO_HASH } from "@chaoscore/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHAIN_ID,
  expectCode,
  type Harness,
  hashOf,
  openHarness,
} from "./adapters/test-support/harness.js";
import {
  type ActionSink,
  AgentRecorder,
  isRefusal,
  isRetryableSendError,
  type RecordFailure,
  TRUNCATED_FORMAT,
} from "./recorder.js";

let h: Harness;
beforeAll(async () => {
  h = await openHarness({ limits: { maxPayloadBytes: 4096 } });
});
afterAll(() => h.close());

/** A sink in front of the real log that fails on the calls `fail` picks. */
function faultySink(
  fail: (call: number) => "before" | "after" | null,
  error: () => unknown = () => new TypeError("fetch failed"),
) {
  let calls = 0;
  const sink: ActionSink & { calls: () => number } = {
    calls: () => calls,
    async recordAction(input) {
      const when = fail(++calls);
      if (when === "before") throw error();
      const result = await h.sink.recordAction(input);
      if (when === "after") throw error();
      return result;
    },
    async recordOutcome(input) {
      const when = fail(++calls);
      if (when === "before") throw error();
      const result = await h.sink.recordOutcome(input);
      if (when === "after") throw error();
      return result;
    },
  };
  return sink;
}

describe("AgentRecorder (on a real in-process log)", () => {
  it("records actions with parents and an outcome; the receipt verifies offline", async () => {
    const { agent, recorder } = await h.newRecorder({ studio: "s1", task: "t1" });
    const call = recorder.record("tool.call", { tool: "search", input: { q: "eip-712", n: 3n } });
    const result = recorder.record("tool.result", ["a", "b"], { parents: [call], task: "t2" });
    const outcome = recorder.outcome(result, "success", {
      result: { answer: 42 },
      metrics: { latencyMs: 12 },
    });
    const [c, r, o] = await Promise.all([call, result, outcome]);
    expect(await recorder.flush()).toEqual({ recorded: 3, failures: [] });

    expect([c.nonce, r.nonce, o.nonce]).toEqual([1n, 2n, 3n]);
    expect(c.payload).toEqual({ tool: "search", input: { q: "eip-712", n: "3" } });
    expect(c.entry.message.payloadHash).toBe(hashOf(c.payload));
    expect(r.entry.message.parents).toEqual([c.id]);
    expect(o.entry.message.action).toBe(r.id);
    expect(o.entry.message.resultHash).toBe(hashOf({ answer: 42 }));
    expect(o.entry.message.metricsHash).toBe(hashOf({ latencyMs: 12 }));
    expect(recorder.agent).toBe(agent.address);
    expect(recorder.pendingNonce).toBe(4n);

    const rows = await h.actionsOf(agent.address);
    expect(rows.map((a) => [a.actionType, a.nonce, a.studio, a.task])).toEqual([
      ["tool.call", "1", "s1", "t1"],
      ["tool.result", "2", "s1", "t2"],
    ]);
    expect(rows[1]?.outcomeId).toBe(o.id);
    expect(rows.map((a) => a.payloadHash)).toEqual([hashOf(c.payload), hashOf(["a", "b"])]);

    const { receipt, verified } = await h.verifiedReceipt(r.id);
    expect(verified.actionId).toBe(r.id);
    expect(verified.outcomeId).toBe(o.id);
    expect(receipt.payload).toEqual(["a", "b"]);
    expect(receipt.action.entry.message.parents).toEqual([c.id]);
  });

  it("gives concurrent calls nonces in call order and sends them in that order", async () => {
    const { agent, recorder } = await h.newRecorder({ nextNonce: 5n });
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, i) => recorder.record("step", { i })),
    );
    expect(all.map((a) => a.nonce)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(5 + i)));
    const rows = await h.actionsOf(agent.address);
    expect(rows.map((a) => a.nonce)).toEqual(all.map((a) => a.nonce.toString()));
    expect(rows.map((a) => a.id)).toEqual(all.map((a) => a.id));
    const leaves = all.map((a) => a.leafIndex);
    expect(leaves).toEqual([...leaves].sort((a, b) => a - b));
  });

  it("sends one entry at a time, so a sink that answers out of order cannot reorder nonces", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const ticks = () => new Promise<void>((resolve) => setImmediate(resolve));
    const slowFirst: ActionSink = {
      async recordAction(input) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // Earlier calls wait longer: concurrent sends would arrive in reverse.
        for (let i = 20 - calls++; i > 0; i--) await ticks();
        try {
          return await h.sink.recordAction(input);
        } finally {
          inFlight--;
        }
      },
      recordOutcome: (input) => h.sink.recordOutcome(input),
    };
    const { agent, recorder } = await h.newRecorder({ sink: slowFirst });
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => recorder.record("s", i)));
    expect(maxInFlight).toBe(1);
    expect((await h.actionsOf(agent.address)).map((r) => r.nonce)).toEqual(
      all.map((_, i) => String(i + 1)),
    );
  });

  it("fetches the first nonce lazily when nextNonce is a function", async () => {
    const agent = await h.newAgent();
    agent.nextNonce(); // the agent already used nonce 1 elsewhere:
    await h.sink.recordAction({ entry: agent.action().entry });
    let fetched = 0;
    const recorder = new AgentRecorder({
      privateKey: agent.privateKey,
      chainId: CHAIN_ID,
      sink: h.sink,
      nextNonce: () => {
        fetched++;
        return h.nextNonceOf(agent.address);
      },
    });
    expect(recorder.pendingNonce).toBeNull();
    expect(fetched).toBe(0);
    const a = await recorder.record("x", null);
    const b = await recorder.record("x", null);
    expect([a.nonce, b.nonce, fetched]).toEqual([3n, 4n, 1]);
    expect(a.entry.message.payloadHash).toBe(hashOf(null));
  });

  it("reuses the nonce of an entry the log refused, and reports the refusal", async () => {
    const seen: RecordFailure[] = [];
    const { agent, recorder } = await h.newRecorder({
      maxPayloadBytes: Infinity, // let the log's 4 KiB limit refuse it
      onError: (f) => seen.push(f),
    });
    const big = recorder.record("big", "x".repeat(5000));
    const next = recorder.record("small", { ok: true });
    await expectCode(big, "AGENCY_PAYLOAD_TOO_LARGE");
    expect((await next).nonce).toBe(1n);
    const report = await recorder.flush();
    expect(report.recorded).toBe(1);
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]).toMatchObject({
      kind: "action",
      subject: "big",
      nonce: 1n,
      state: "rejected",
    });
    expect(seen).toEqual(report.failures);
    expect((await h.actionsOf(agent.address)).map((a) => [a.actionType, a.nonce])).toEqual([
      ["small", "1"],
    ]);
    expect(await recorder.flush()).toEqual({ recorded: 0, failures: [] });
  });

  it("replaces a payload over its cap by a truncation marker carrying the full hash", async () => {
    const { recorder } = await h.newRecorder({ maxPayloadBytes: 600 });
    const text = "y".repeat(3000);
    const a = await recorder.record("page", { text });
    expect(a.payload).toMatchObject({
      format: TRUNCATED_FORMAT,
      bytes: 3011,
      sha256: hashOf({ text }),
    });
    const { receipt } = await h.verifiedReceipt(a.id);
    expect(receipt.payload).toEqual(a.payload);
  });

  it("retries a lost response with the same signed entry: recorded once, reported as a duplicate", async () => {
    const sink = faultySink((n) => (n === 1 ? "after" : null));
    const { agent, recorder } = await h.newRecorder({ sink });
    const first = await recorder.record("a", 1);
    expect(first.duplicate).toBe(true);
    expect(sink.calls()).toBe(2);
    const second = await recorder.record("b", 2);
    expect(second.nonce).toBe(2n);
    const rows = await h.actionsOf(agent.address);
    expect(rows.map((r) => r.id)).toEqual([first.id, second.id]);
  });

  it("when retries run out, never reuses the nonce; a fetching recorder re-syncs from the log", async () => {
    // Lost before it reached the log, every time: not recorded.
    const lost = faultySink((n) => (n <= 3 ? "before" : null));
    const { agent, recorder } = await h.newRecorder({ sink: lost, retries: 2 });
    const a = recorder.record("a", 1);
    await expect(a).rejects.toThrow("fetch failed");
    const b = await recorder.record("b", 2);
    expect(b.nonce).toBe(2n); // a gap at 1, which the log accepts
    const { failures } = await recorder.flush();
    expect(failures.map((f) => [f.state, f.nonce])).toEqual([["unknown", 1n]]);
    expect(lost.calls()).toBe(4);

    // Recorded, but every answer was lost: the fetched nonce shows it landed.
    const landed = faultySink((n) => (n <= 2 ? "after" : null));
    const other = await h.newAgent();
    const fetching = new AgentRecorder({
      privateKey: other.privateKey,
      chainId: CHAIN_ID,
      sink: landed,
      nextNonce: () => h.nextNonceOf(other.address),
      retries: 1,
      retryDelayMs: 0,
    });
    const c = fetching.record("c", 1);
    await expect(c).rejects.toThrow("fetch failed");
    expect(fetching.pendingNonce).toBeNull();
    const d = await fetching.record("d", 2);
    expect(d.nonce).toBe(2n);
    expect((await h.actionsOf(other.address)).map((r) => r.actionType)).toEqual(["c", "d"]);
    expect((await h.actionsOf(agent.address)).map((r) => r.actionType)).toEqual(["b"]);
  });

  it("treats a client error after the entry landed as unknown: its nonce is not reused", async () => {
    // An HTTP client that gave up after the gateway had recorded the entry.
    const sink = faultySink(
      (n) => (n === 1 ? "after" : null),
      () => new ChaosCoreError("SDK_RESPONSE_INVALID", "answered 502 without a problem"),
    );
    const { agent, recorder } = await h.newRecorder({ sink });
    await expectCode(recorder.record("a", 1), "SDK_RESPONSE_INVALID");
    const b = await recorder.record("b", 2);
    expect(b.nonce).toBe(2n);
    expect((await recorder.flush()).failures.map((f) => f.state)).toEqual(["unknown"]);
    expect((await h.actionsOf(agent.address)).map((r) => [r.actionType, r.nonce])).toEqual([
      ["a", "1"],
      ["b", "2"],
    ]);
  });

  it("retries retryable log errors (STORE_UNAVAILABLE) and waits between tries", async () => {
    const sink = faultySink(
      (n) => (n === 1 ? "before" : null),
      () => new ChaosCoreError("STORE_UNAVAILABLE", "down"),
    );
    const { recorder } = await h.newRecorder({ sink, retryDelayMs: 1 });
    expect((await recorder.record("a", 1)).duplicate).toBe(false);
    expect(sink.calls()).toBe(2);
  });

  it("does not retry what isRetryable rejects", async () => {
    const sink = faultySink(() => "before");
    const { recorder } = await h.newRecorder({ sink, isRetryable: () => false });
    await expect(recorder.record("a", 1)).rejects.toThrow("fetch failed");
    expect(sink.calls()).toBe(1);
  });

  it("re-syncs a stale nonce from the log's answer and re-signs once", async () => {
    const agent = await h.newAgent();
    for (let i = 0; i < 3; i++) await h.sink.recordAction({ entry: agent.action().entry });
    const recorder = new AgentRecorder({
      privateKey: agent.privateKey,
      chainId: CHAIN_ID,
      sink: h.sink,
      nextNonce: 2n,
    });
    const a = await recorder.record("late", { x: 1 });
    expect(a.nonce).toBe(4n);
    expect((await recorder.record("later", {})).nonce).toBe(5n);
    expect((await recorder.flush()).failures).toEqual([]);
  });

  it("re-syncs a stale nonce by fetching when nextNonce is a function", async () => {
    const agent = await h.newAgent();
    let calls = 0;
    const recorder = new AgentRecorder({
      privateKey: agent.privateKey,
      chainId: CHAIN_ID,
      sink: h.sink,
      nextNonce: async () => (++calls === 1 ? 1n : h.nextNonceOf(agent.address)),
    });
    await h.sink.recordAction({ entry: agent.action().entry }); // nonce 1, behind its back
    const a = await recorder.record("a", null);
    expect([a.nonce, calls]).toEqual([2n, 2]);
  });

  it("fails with the log's code when a stale nonce cannot be re-synced", async () => {
    const agent = await h.newAgent();
    await h.sink.recordAction({ entry: agent.action().entry });
    const sink: ActionSink = {
      recordAction: (input) =>
        h.sink.recordAction(input).catch((e: ChaosCoreError) => {
          throw new ChaosCoreError(e.code, e.message); // a client that drops details
        }),
      recordOutcome: (input) => h.sink.recordOutcome(input),
    };
    const recorder = new AgentRecorder({
      privateKey: agent.privateKey,
      chainId: CHAIN_ID,
      sink,
      nextNonce: 1n,
    });
    await expectCode(recorder.record("a", null), "AGENCY_NONCE_NOT_INCREASING");
    expect(recorder.pendingNonce).toBe(2n);
    expect((await recorder.record("b", null)).nonce).toBe(2n);
    const { failures } = await recorder.flush();
    expect(failures.map((f) => [f.state, f.nonce])).toEqual([["rejected", 1n]]);
  });

  it("re-syncs only once: a second stale answer fails the entry as rejected", async () => {
    let calls = 0;
    const stale: ActionSink = {
      async recordAction() {
        calls++;
        throw new ChaosCoreError("AGENCY_NONCE_NOT_INCREASING", "stale", {
          details: { nonce: "1", last: String(10 * calls) },
        });
      },
      recordOutcome: (input) => h.sink.recordOutcome(input),
    };
    const { recorder } = await h.newRecorder({ sink: stale });
    await expectCode(recorder.record("a", 1), "AGENCY_NONCE_NOT_INCREASING");
    expect(calls).toBe(2);
    const { failures } = await recorder.flush();
    expect(failures.map((f) => [f.state, f.nonce])).toEqual([["rejected", 11n]]);
    expect(recorder.pendingNonce).toBe(12n);
  });

  it("gives back the nonce of an entry that cannot be signed (a nonce beyond uint64)", async () => {
    const { recorder } = await h.newRecorder({ nextNonce: 2n ** 64n });
    await expect(recorder.record("a", 1)).rejects.toThrow();
    expect(recorder.pendingNonce).toBe(2n ** 64n);
    expect((await recorder.flush()).failures.map((f) => [f.state, f.nonce])).toEqual([
      ["not-sent", null],
    ]);
  });

  it("does not sign a child whose parent was not recorded, nor an outcome of it", async () => {
    const { agent, recorder } = await h.newRecorder({ maxPayloadBytes: Infinity });
    const parent = recorder.record("call", "z".repeat(5000));
    const child = recorder.record("result", 1, { parents: [parent] });
    const outcome = recorder.outcome(parent, "failure");
    const after = recorder.record("after", 2);
    await expectCode(parent, "AGENCY_PAYLOAD_TOO_LARGE");
    const error = await expectCode(child, "AGENCY_PARENT_NOT_FOUND");
    expect((error as ChaosCoreError).details).toEqual({ actionError: "AGENCY_PAYLOAD_TOO_LARGE" });
    await expectCode(outcome, "AGENCY_ACTION_NOT_FOUND");
    expect((await after).nonce).toBe(1n);
    const { failures } = await recorder.flush();
    expect(failures.map((f) => [f.subject, f.state, f.nonce, f.id === null])).toEqual([
      ["call", "rejected", 1n, false],
      ["result", "not-sent", null, true],
      ["(pending action)", "not-sent", null, true],
    ]);
    expect((await h.actionsOf(agent.address)).map((r) => r.actionType)).toEqual(["after"]);
  });

  it("keeps the nonce of an entry that could not be signed (a malformed attestation)", async () => {
    const { recorder } = await h.newRecorder();
    await expect(recorder.record("attested", 1, { attestation: { nope: true } })).rejects.toThrow();
    expect((await recorder.record("plain", 1)).nonce).toBe(1n);
    expect((await recorder.flush()).failures.map((f) => f.state)).toEqual(["not-sent"]);
  });

  it("records outcomes by id, wraps non-object metrics and refuses a second outcome", async () => {
    const { recorder } = await h.newRecorder();
    const a = await recorder.record("act", { n: 1 });
    const o = await recorder.outcome(a.id, "partial", { metrics: 0.5 });
    expect(o.metrics).toEqual({ value: 0.5 });
    expect(o.entry.message.resultHash).toBe(ZERO_HASH);
    expect(o.entry.message.metricsHash).toBe(hashOf({ value: 0.5 }));
    const again = recorder.outcome(a.id, "success");
    await expectCode(again, "AGENCY_OUTCOME_EXISTS");
    const { failures } = await recorder.flush();
    expect(failures[0]?.subject).toBe(a.id);
    expect((await h.verifiedReceipt(o.id)).verified.outcomeId).toBe(o.id);
  });

  it("keeps going when onError throws, and when nextNonce() fails it fetches again", async () => {
    const agent = await h.newAgent();
    let calls = 0;
    const recorder = new AgentRecorder({
      privateKey: agent.privateKey,
      chainId: CHAIN_ID,
      sink: h.sink,
      nextNonce: async () => {
        if (++calls === 1) throw new Error("registry down");
        return 1n;
      },
      onError: () => {
        throw new Error("bad hook");
      },
    });
    await expect(recorder.record("a", 1)).rejects.toThrow("registry down");
    expect((await recorder.record("b", 1)).nonce).toBe(1n);
    const { failures } = await recorder.flush();
    expect(failures.map((f) => f.state)).toEqual(["not-sent"]);
  });

  it("rejects a nextNonce() that is not a non-negative bigint", async () => {
    const { recorder } = await h.newRecorder({
      nextNonce: async () => 1 as unknown as bigint,
    });
    await expectCode(recorder.record("a", 1), "INVALID_INPUT");
  });

  it("signs for a rotated key's agent id when given one", async () => {
    const { recorder } = await h.newRecorder({ agent: `0x${"ab".repeat(20)}` });
    expect(recorder.agent).toBe(`0x${"ab".repeat(20)}`);
    await expectCode(recorder.record("a", 1), "AGENT_NOT_FOUND");
  });

  it("flush waits for entries queued while it waits", async () => {
    const { agent, recorder } = await h.newRecorder();
    const first = recorder.record("a", 1);
    const flushed = recorder.flush();
    void first.then(() => recorder.record("b", 2));
    // b is queued after flush began, yet before the queue drained.
    expect((await flushed).recorded).toBe(2);
    expect((await h.actionsOf(agent.address)).map((r) => r.actionType)).toEqual(["a", "b"]);
  });
});

describe("AgentRecorder constructor", () => {
  const base = { chainId: 1n, sink: {} as ActionSink, nextNonce: 1n };
  it("rejects a malformed key, chain id or nonce with INVALID_INPUT", () => {
    const key = new Uint8Array(32).fill(7);
    expect(() => new AgentRecorder({ ...base, privateKey: new Uint8Array(3) })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(() => new AgentRecorder({ ...base, privateKey: key, chainId: 0 })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(() => new AgentRecorder({ ...base, privateKey: key, nextNonce: -1n })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
  });
});

describe("isRefusal", () => {
  it("is true only for errors that prove nothing was written", () => {
    expect(isRefusal(new ChaosCoreError("AGENCY_PAYLOAD_TOO_LARGE", "x"))).toBe(true);
    expect(isRefusal(new ChaosCoreError("AGENT_NOT_ACTIVE", "x"))).toBe(true);
    expect(isRefusal(new ChaosCoreError("GATEWAY_FORBIDDEN", "x"))).toBe(true);
    expect(isRefusal(new ChaosCoreError("GATEWAY_RATE_LIMITED", "x"))).toBe(true);
    expect(isRefusal(new ChaosCoreError("STORE_UNAVAILABLE", "x"))).toBe(false);
    expect(isRefusal(new ChaosCoreError("GATEWAY_INTERNAL", "x"))).toBe(false);
    expect(isRefusal(new ChaosCoreError("SDK_GATEWAY_UNREACHABLE", "x"))).toBe(false);
    expect(isRefusal(new ChaosCoreError("SDK_RESPONSE_INVALID", "x"))).toBe(false);
    expect(isRefusal(new TypeError("fetch failed"))).toBe(false);
  });
});

describe("isRetryableSendError", () => {
  it("retries network errors and the retryable codes only", () => {
    expect(isRetryableSendError(new TypeError("fetch failed"))).toBe(true);
    expect(isRetryableSendError(new ChaosCoreError("STORE_UNAVAILABLE", "x"))).toBe(true);
    expect(isRetryableSendError(new ChaosCoreError("GATEWAY_RATE_LIMITED", "x"))).toBe(true);
    expect(isRetryableSendError(new ChaosCoreError("SDK_GATEWAY_UNREACHABLE", "x"))).toBe(true);
    expect(isRetryableSendError(new ChaosCoreError("SDK_RESPONSE_INVALID", "x"))).toBe(false);
    expect(isRetryableSendError(new ChaosCoreError("AGENCY_BAD_SIGNATURE", "x"))).toBe(false);
    expect(isRetryableSendError(new ChaosCoreError("AGENCY_NONCE_NOT_INCREASING", "x"))).toBe(
      false,
    );
  });
});
