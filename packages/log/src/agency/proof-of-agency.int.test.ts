import { randomBytes } from "node:crypto";
import {
  agentBoundNonce,
  bytesToHex,
  type ErrorCode,
  type Hex,
  isChaosCoreError,
  openCheckpoint,
  privateKeyToAddress,
  signAction,
  signOutcome,
  verifyConsistency,
  verifyReceipt,
} from "@chaoscore/core";
import { defaultSandbox, executeAttested, MockTeeProvider } from "@chaoscore/sandbox";
import { CHAIN_ID, openTestEngine, snapshot, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type Harness = Awaited<ReturnType<typeof openTestEngine>>;

async function expectCode(promise: Promise<unknown>, code: ErrorCode) {
  try {
    await promise;
  } catch (error) {
    expect(isChaosCoreError(error) ? error.code : error).toBe(code);
    return;
  }
  expect.unreachable(`expected ${code}`);
}

describe(`Proof of Agency on ${TEST_DB_KIND}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await openTestEngine({ limits: { maxPayloadBytes: 2048 } });
  });
  afterAll(() => h.close());

  it("records an action and an outcome and issues a receipt that verifies offline", async () => {
    const agent = await h.newAgent();
    const evaluator = await h.newAgent(["evaluation"]);
    const { entry, payload } = agent.action({
      payload: { proposal: 7, vote: "yes" },
      studio: "gov",
      task: "t1",
    });
    const recorded = await h.engine.agency.recordAction({ entry, payload });
    expect(recorded).toMatchObject({ kind: "action", duplicate: false });
    const outcome = signOutcome({
      privateKey: evaluator.privateKey,
      chainId: CHAIN_ID,
      action: recorded.id,
      status: "success",
      nonce: evaluator.nextNonce(),
      result: { passed: true },
      metrics: { score: 0.9 },
    });
    const rec2 = await h.engine.agency.recordOutcome(outcome);
    expect(rec2.leafIndex).toBe(recorded.leafIndex + 1);

    const receipt = await h.engine.agency.getReceipt(recorded.id);
    expect(receipt.payload).toEqual({ proposal: 7, vote: "yes" });
    const verified = verifyReceipt(JSON.parse(JSON.stringify(receipt)), h.verifierKey);
    expect(verified).toMatchObject({
      actionId: recorded.id,
      outcomeId: rec2.id,
      agent: agent.address,
      leafIndex: recorded.leafIndex,
      chainId: "31337",
    });
    expect(verified.treeSize).toBeGreaterThan(rec2.leafIndex);
    // The receipt of the outcome id is the same receipt.
    expect((await h.engine.agency.getReceipt(rec2.id)).action.entry).toEqual(receipt.action.entry);
    expect(await h.engine.agency.verify(recorded.id)).toEqual(verified);

    const action = await h.engine.agency.getAction(recorded.id);
    expect(action).toMatchObject({
      agent: agent.address,
      studio: "gov",
      task: "t1",
      outcomeId: rec2.id,
      hasPayload: true,
    });
  });

  it("fails every write of a batch with STORE_UNAVAILABLE when the database refuses the transaction", async () => {
    const agent = await h.newAgent();
    const db = h.engine.db;
    const transaction = db.transaction.bind(db);
    // The server is down: the transaction fails before the batch is sorted (found by the reliability suite).
    db.transaction = () => Promise.reject(new Error("connect ECONNREFUSED"));
    try {
      const writes = await Promise.allSettled(
        [agent.action(), agent.action()].map((s) => h.engine.agency.recordAction(s)),
      );
      for (const w of writes) {
        expect(w.status === "rejected" && isChaosCoreError(w.reason) ? w.reason.code : w).toBe(
          "STORE_UNAVAILABLE",
        );
      }
    } finally {
      db.transaction = transaction;
    }
    // once the database answers again, the same agent writes on
    const r = await h.engine.agency.recordAction(agent.action({ nonce: 3 }));
    expect(r.duplicate).toBe(false);
  });

  it("returns the first receipt for a retried identical action instead of appending twice", async () => {
    const agent = await h.newAgent();
    const signed = agent.action({ payload: { x: 1 } });
    const first = await h.engine.agency.recordAction(signed);
    const before = await snapshot(h.engine);
    const again = await h.engine.agency.recordAction(signed);
    const both = await Promise.all([
      h.engine.agency.recordAction(signed),
      h.engine.agency.recordAction(signed),
    ]);
    expect(again).toEqual({ ...first, duplicate: true });
    expect(both.map((r) => r.leafIndex)).toEqual([first.leafIndex, first.leafIndex]);
    expect(await snapshot(h.engine)).toEqual(before);
  });

  it("returns the first record for a retry even after the signature expired", async () => {
    let clock = Date.now();
    const t = await openTestEngine({ now: () => new Date(clock) });
    try {
      const a = await t.newAgent();
      const signed = a.action({ ttlSeconds: 60 });
      const first = await t.engine.agency.recordAction(signed);
      clock += 3_600_000;
      expect(await t.engine.agency.recordAction(signed)).toEqual({ ...first, duplicate: true });
      const late = a.action({ timestamp: Math.floor(clock / 1000) - 3600, ttlSeconds: 60 });
      await expectCode(t.engine.agency.recordAction(late), "AGENCY_EXPIRED");
    } finally {
      await t.close();
    }
  });

  it("orders concurrent writes from many agents and proves every one", async () => {
    const agents = await Promise.all(Array.from({ length: 5 }, () => h.newAgent()));
    const start = await h.engine.log.size();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => {
        const agent = agents[i % agents.length];
        return h.engine.agency.recordAction(agent!.action({ payload: { i } }));
      }),
    );
    const indices = results.map((r) => r.leafIndex).sort((a, b) => a - b);
    expect(indices).toEqual(Array.from({ length: 100 }, (_, i) => start + i));
    for (const r of results.slice(0, 10)) {
      expect(verifyReceipt(await h.engine.agency.getReceipt(r.id), h.verifierKey).actionId).toBe(
        r.id,
      );
    }
  });

  it("links checkpoints with consistency proofs", async () => {
    const agent = await h.newAgent();
    await h.engine.agency.recordAction(agent.action());
    const cp1 = await h.engine.log.checkpoint();
    await h.engine.agency.recordAction(agent.action());
    await h.engine.agency.recordAction(agent.action());
    const cp2 = await h.engine.log.checkpoint();
    const proof = await h.engine.log.consistencyProof(cp1.size, cp2.size);
    const a = openCheckpoint(cp1.note, h.verifierKey);
    const b = openCheckpoint(cp2.note, h.verifierKey);
    expect(() => verifyConsistency(a.size, b.size, proof, a.rootHash, b.rootHash)).not.toThrow();
    expect(await h.engine.log.checkpoint()).toEqual(cp2); // no growth, same checkpoint
  });

  it("pages through queries in log order with filters", async () => {
    const agent = await h.newAgent();
    for (let i = 0; i < 5; i++) {
      await h.engine.agency.recordAction(
        agent.action({ studio: "paging", actionType: i % 2 ? "odd" : "even" }),
      );
    }
    const page1 = await h.engine.agency.query({ studio: "paging", limit: 2 });
    expect(page1.items).toHaveLength(2);
    const page2 = await h.engine.agency.query({
      studio: "paging",
      limit: 2,
      cursor: page1.nextCursor!,
    });
    const page3 = await h.engine.agency.query({
      studio: "paging",
      limit: 2,
      cursor: page2.nextCursor!,
    });
    expect(page3.nextCursor).toBeNull();
    const all = [...page1.items, ...page2.items, ...page3.items];
    expect(all.map((a) => a.nonce)).toEqual(["1", "2", "3", "4", "5"]);
    const odd = await h.engine.agency.query({
      studio: "paging",
      actionType: "odd",
      agent: agent.address,
    });
    expect(odd.items.map((a) => a.nonce)).toEqual(["2", "4"]);
    const none = await h.engine.agency.query({ studio: "paging", from: "2999-01-01T00:00:00Z" });
    expect(none.items).toEqual([]);
    await expectCode(h.engine.agency.query({ cursor: "x" }), "INVALID_INPUT");
    await expectCode(h.engine.agency.getAction("0x12"), "AGENCY_ACTION_NOT_FOUND");
    await expectCode(
      h.engine.agency.getReceipt(bytesToHex(randomBytes(32))),
      "AGENCY_ACTION_NOT_FOUND",
    );
  });

  describe("rejects bad input with a code and writes nothing", () => {
    const now = () => Math.floor(Date.now() / 1000);
    const cases: [string, ErrorCode, (h: Harness) => Promise<unknown>][] = [
      [
        "a malformed entry",
        "AGENCY_MALFORMED",
        async (h) => {
          const { entry } = (await h.newAgent()).action();
          return h.engine.agency.recordAction({ entry: { ...entry, extra: 1 } });
        },
      ],
      [
        "an entry that is not an object",
        "AGENCY_MALFORMED",
        (h) => h.engine.agency.recordAction({ entry: "{" }),
      ],
      [
        "an outcome sent as an action",
        "AGENCY_MALFORMED",
        async (h) => {
          const a = await h.newAgent();
          const o = signOutcome({
            privateKey: a.privateKey,
            chainId: CHAIN_ID,
            action: `0x${"11".repeat(32)}`,
            status: "success",
            nonce: 1,
          });
          return h.engine.agency.recordAction({ entry: o.entry });
        },
      ],
      [
        "a signature for another chain",
        "AGENCY_WRONG_CHAIN",
        async (h) => {
          const a = await h.newAgent();
          return h.engine.agency.recordAction(
            signAction({ privateKey: a.privateKey, chainId: 1n, actionType: "x", nonce: 1 }),
          );
        },
      ],
      [
        "an expired message",
        "AGENCY_EXPIRED",
        async (h) =>
          h.engine.agency.recordAction(
            (await h.newAgent()).action({ timestamp: now() - 200, ttlSeconds: 100 }),
          ),
      ],
      [
        "a timestamp from the future",
        "AGENCY_CLOCK_SKEW",
        async (h) =>
          h.engine.agency.recordAction((await h.newAgent()).action({ timestamp: now() + 3600 })),
      ],
      [
        "an oversized payload",
        "AGENCY_PAYLOAD_TOO_LARGE",
        async (h) =>
          h.engine.agency.recordAction(
            (await h.newAgent()).action({ payload: { big: "x".repeat(4096) } }),
          ),
      ],
      [
        "a payload that does not match its hash",
        "AGENCY_PAYLOAD_MISMATCH",
        async (h) => {
          const { entry } = (await h.newAgent()).action({ payload: { a: 1 } });
          return h.engine.agency.recordAction({ entry, payload: { a: 2 } });
        },
      ],
      [
        "a signature by another key",
        "AGENCY_BAD_SIGNATURE",
        async (h) => {
          const a = await h.newAgent();
          const other = Uint8Array.from(randomBytes(32));
          return h.engine.agency.recordAction(
            signAction({
              privateKey: other,
              agent: a.address,
              chainId: CHAIN_ID,
              actionType: "x",
              nonce: 1,
            }),
          );
        },
      ],
      [
        "a signature by another registered agent",
        "AGENCY_BAD_SIGNATURE",
        async (h) => {
          const a = await h.newAgent();
          const b = await h.newAgent();
          return h.engine.agency.recordAction(
            signAction({
              privateKey: b.privateKey,
              agent: a.address,
              chainId: CHAIN_ID,
              actionType: "x",
              nonce: 1,
            }),
          );
        },
      ],
      [
        "a corrupted signature",
        "AGENCY_BAD_SIGNATURE",
        async (h) => {
          const { entry } = (await h.newAgent()).action();
          const sig =
            `${entry.signature.slice(0, 10)}${entry.signature[10] === "0" ? "1" : "0"}${entry.signature.slice(11)}` as `0x${string}`;
          return h.engine.agency.recordAction({ entry: { ...entry, signature: sig } });
        },
      ],
      [
        "an unknown agent",
        "AGENT_NOT_FOUND",
        async (h) => {
          const key = Uint8Array.from(randomBytes(32));
          return h.engine.agency.recordAction(
            signAction({ privateKey: key, chainId: CHAIN_ID, actionType: "x", nonce: 1 }),
          );
        },
      ],
      [
        "a parent that was never recorded",
        "AGENCY_PARENT_NOT_FOUND",
        async (h) =>
          h.engine.agency.recordAction(
            (await h.newAgent()).action({ parents: [`0x${"ab".repeat(32)}`] }),
          ),
      ],
      [
        "an outcome of an unknown action",
        "AGENCY_ACTION_NOT_FOUND",
        async (h) => {
          const a = await h.newAgent();
          return h.engine.agency.recordOutcome(
            signOutcome({
              privateKey: a.privateKey,
              chainId: CHAIN_ID,
              action: `0x${"11".repeat(32)}`,
              status: "success",
              nonce: 1,
            }),
          );
        },
      ],
      [
        "metrics that do not match their hash",
        "AGENCY_PAYLOAD_MISMATCH",
        async (h) => {
          const a = await h.newAgent();
          const o = signOutcome({
            privateKey: a.privateKey,
            chainId: CHAIN_ID,
            action: `0x${"11".repeat(32)}`,
            status: "success",
            nonce: 1,
            metrics: { a: 1 },
          });
          return h.engine.agency.recordOutcome({ entry: o.entry, metrics: { a: 2 } });
        },
      ],
    ];
    it.each(cases)("%s → %s", async (_, code, attempt) => {
      // Setup (registering agents) happens inside attempt: snapshot after it by
      // wrapping the registry's writes out of the comparison.
      const before = await snapshot(h.engine);
      const leaves = (before.counts as { leaves: number }).leaves;
      await expectCode(attempt(h), code);
      const after = await snapshot(h.engine);
      expect((after.counts as { leaves: number }).leaves).toBe(leaves);
      expect(after.counts).toEqual(before.counts);
      const nonces = (after.nonces as { nonce: string | null }[]).filter((n) => n.nonce !== null);
      expect(nonces).toEqual(
        (before.nonces as { nonce: string | null }[]).filter((n) => n.nonce !== null),
      );
    });

    it("a replayed or lower nonce → AGENCY_NONCE_NOT_INCREASING", async () => {
      const a = await h.newAgent();
      await h.engine.agency.recordAction(
        signAction({ privateKey: a.privateKey, chainId: CHAIN_ID, actionType: "x", nonce: 5 }),
      );
      const before = await snapshot(h.engine);
      await expectCode(
        h.engine.agency.recordAction(
          signAction({
            privateKey: a.privateKey,
            chainId: CHAIN_ID,
            actionType: "other",
            nonce: 5,
          }),
        ),
        "AGENCY_NONCE_NOT_INCREASING",
      );
      await expectCode(
        h.engine.agency.recordAction(
          signAction({ privateKey: a.privateKey, chainId: CHAIN_ID, actionType: "x", nonce: 4 }),
        ),
        "AGENCY_NONCE_NOT_INCREASING",
      );
      expect(await snapshot(h.engine)).toEqual(before);
    });

    it("a second outcome for one action → AGENCY_OUTCOME_EXISTS", async () => {
      const a = await h.newAgent();
      const r = await h.engine.agency.recordAction(a.action());
      const o = (n: bigint) =>
        signOutcome({
          privateKey: a.privateKey,
          chainId: CHAIN_ID,
          action: r.id,
          status: "success",
          nonce: n,
        });
      await h.engine.agency.recordOutcome(o(a.nextNonce()));
      const before = await snapshot(h.engine);
      await expectCode(h.engine.agency.recordOutcome(o(a.nextNonce())), "AGENCY_OUTCOME_EXISTS");
      expect(await snapshot(h.engine)).toEqual(before);
    });

    it("suspended and revoked agents → AGENT_NOT_ACTIVE", async () => {
      const a = await h.newAgent();
      await h.engine.registry.suspend(a.address, "test");
      const before = await snapshot(h.engine);
      await expectCode(h.engine.agency.recordAction(a.action()), "AGENT_NOT_ACTIVE");
      expect(await snapshot(h.engine)).toEqual(before);
      await h.engine.registry.revokeByOperator(a.address, "test");
      await expectCode(h.engine.agency.recordAction(a.action()), "AGENT_NOT_ACTIVE");
    });

    it("a bad entry in a batch fails alone; the others commit", async () => {
      const a = await h.newAgent();
      const b = await h.newAgent();
      const good1 = a.action();
      const bad = signAction({
        privateKey: b.privateKey,
        agent: a.address,
        chainId: CHAIN_ID,
        actionType: "x",
        nonce: 99,
      });
      const good2 = b.action();
      const results = await Promise.allSettled([
        h.engine.agency.recordAction(good1),
        h.engine.agency.recordAction(bad),
        h.engine.agency.recordAction(good2),
      ]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    });
  });

  it("rejects an oversized entry (configurable limit) and writes nothing", async () => {
    const small = await openTestEngine({ limits: { maxEntryBytes: 700 } });
    try {
      const a = await small.newAgent();
      const before = await snapshot(small.engine);
      await expectCode(
        small.engine.agency.recordAction(a.action({ studio: "s".repeat(256) })),
        "AGENCY_ENTRY_TOO_LARGE",
      );
      expect(await snapshot(small.engine)).toEqual(before);
      await small.engine.agency.recordAction(a.action());
    } finally {
      await small.close();
    }
  });

  it("verifies signatures on worker threads too", async () => {
    const pooled = await openTestEngine({ signatureThreads: 2 });
    try {
      const a = await pooled.newAgent();
      const results = await Promise.all(
        Array.from({ length: 50 }, () => pooled.engine.agency.recordAction(a.action())),
      );
      expect(new Set(results.map((r) => r.leafIndex)).size).toBe(50);
      const other = Uint8Array.from(randomBytes(32));
      await expectCode(
        pooled.engine.agency.recordAction(
          signAction({
            privateKey: other,
            agent: a.address,
            chainId: CHAIN_ID,
            actionType: "x",
            nonce: 1000,
          }),
        ),
        "AGENCY_BAD_SIGNATURE",
      );
      expect(privateKeyToAddress(other)).not.toBe(a.address);
    } finally {
      await pooled.close();
    }
  });

  it("audit is clean, then names the index of rows edited, reordered or removed in the database", async () => {
    const t = await openTestEngine();
    try {
      const a = await t.newAgent();
      for (let i = 0; i < 12; i++) await t.engine.agency.recordAction(a.action({ payload: { i } }));
      await t.engine.log.checkpoint();
      expect((await t.engine.agency.audit()).findings).toEqual([]);

      // Edit the entry of leaf 5 (a different but well-formed entry).
      const [row] = await t.db.query<{ entry: Uint8Array }>(
        "SELECT entry FROM log_leaves WHERE idx = 5",
      );
      const edited = new TextDecoder().decode(row!.entry).replace('"test.act"', '"test.bad"');
      await t.db.query("UPDATE log_leaves SET entry = $1 WHERE idx = 5", [
        new TextEncoder().encode(edited),
      ]);
      let report = await t.engine.agency.audit();
      expect(report.findings.map((f) => f.index)).toContain(5);
      expect(
        new Set(
          report.findings.filter((f) => !f.kind.startsWith("checkpoint-")).map((f) => f.index),
        ),
      ).toEqual(new Set([5]));
      await t.db.query("UPDATE log_leaves SET entry = $1 WHERE idx = 5", [row!.entry]);
      expect((await t.engine.agency.audit()).findings).toEqual([]);

      // Swap two leaves.
      await t.db.exec(
        "UPDATE log_leaves SET idx = -1 WHERE idx = 2; UPDATE log_leaves SET idx = 2 WHERE idx = 3; UPDATE log_leaves SET idx = 3 WHERE idx = -1",
      );
      report = await t.engine.agency.audit();
      expect(
        new Set(
          report.findings.filter((f) => !f.kind.startsWith("checkpoint-")).map((f) => f.index),
        ),
      ).toEqual(new Set([2, 3]));
      await t.db.exec(
        "UPDATE log_leaves SET idx = -1 WHERE idx = 2; UPDATE log_leaves SET idx = 2 WHERE idx = 3; UPDATE log_leaves SET idx = 3 WHERE idx = -1",
      );

      // Edit a table row only (the payload of action 7).
      await t.db.query("UPDATE actions SET payload = $1 WHERE leaf_index = 7", [
        new TextEncoder().encode('{"i":70}'),
      ]);
      report = await t.engine.agency.audit();
      expect(report.findings.map((f) => f.index)).toEqual([7]);
      await t.db.query("UPDATE actions SET payload = $1 WHERE leaf_index = 7", [
        new TextEncoder().encode('{"i":7}'),
      ]);

      // Remove a leaf.
      await t.db.exec("DELETE FROM log_leaves WHERE idx = 9");
      report = await t.engine.agency.audit();
      expect(report.findings[0]).toMatchObject({ index: 9, kind: "missing-leaf" });
      // The row is gone but the log's size still says 12: the size is not rewritten either.
      expect(report.size).toBe(12);
      expect(report.findings.filter((f) => f.kind === "missing-leaf").map((f) => f.index)).toEqual([
        9,
      ]);
    } finally {
      await t.close();
    }
  });
});

describe(`attested actions on ${TEST_DB_KIND}`, () => {
  let h: Harness;
  let tee: MockTeeProvider;
  const code = "export default function main(input) { return { sum: input.a + input.b }; }";
  beforeAll(async () => {
    tee = MockTeeProvider.create();
    h = await openTestEngine({ attestation: { mode: "optional", trustedRoots: tee.trustedRoots } });
  });
  afterAll(async () => {
    await h.close();
    await defaultSandbox().close();
  });

  async function attestedRun(provider: MockTeeProvider, nonce: Hex) {
    return executeAttested(code, { a: 2, b: 3 }, { provider, nonce });
  }

  it("another agent cannot present an agent's quote as its own (issue 19 item 3)", async () => {
    const owner = await h.newAgent();
    const thief = await h.newAgent();
    // the owner's run, bound to the owner: its quote is public once recorded
    const run = await attestedRun(tee, agentBoundNonce(owner.address));
    await h.engine.agency.recordAction({
      ...owner.action({ attestationHash: run.attestationHash }),
      attestation: run.quote,
    });
    const before = await snapshot(h.engine);
    await expectCode(
      h.engine.agency.recordAction({
        ...thief.action({ attestationHash: run.attestationHash }),
        attestation: run.quote,
      }),
      "AGENCY_ATTESTATION_MISMATCH",
    );
    // a quote whose nonce binds no agent at all is refused too
    const unbound = await attestedRun(tee, `0x${"01".repeat(16)}`);
    await expectCode(
      h.engine.agency.recordAction({
        ...thief.action({ attestationHash: unbound.attestationHash }),
        attestation: unbound.quote,
      }),
      "AGENCY_ATTESTATION_MISMATCH",
    );
    expect(await snapshot(h.engine)).toEqual(before);
  });

  it("records an attested action; its receipt carries the quote and verifies under the roots", async () => {
    const agent = await h.newAgent();
    const run = await attestedRun(tee, agentBoundNonce(agent.address));
    const signed = agent.action({
      attestationHash: run.attestationHash,
      payload: run.result.output,
    });
    const r = await h.engine.agency.recordAction({ ...signed, attestation: run.quote });
    const receipt = await h.engine.agency.getReceipt(r.id);
    expect(receipt.attestation).toEqual(run.quote);
    expect(verifyReceipt(receipt, h.verifierKey).attestation).toBe("bound");
    const policy = { trustedRoots: tee.trustedRoots };
    expect(verifyReceipt(receipt, h.verifierKey, { attestation: policy }).attestation).toBe(
      "verified",
    );
    const other = MockTeeProvider.create();
    expect(() =>
      verifyReceipt(receipt, h.verifierKey, { attestation: { trustedRoots: other.trustedRoots } }),
    ).toThrow(expect.objectContaining({ code: "RECEIPT_ATTESTATION_INVALID" }));
    const swapped = {
      ...receipt,
      attestation: (await attestedRun(tee, agentBoundNonce(agent.address))).quote,
    };
    expect(() => verifyReceipt(swapped, h.verifierKey)).toThrow(
      expect.objectContaining({ code: "RECEIPT_ATTESTATION_MISMATCH" }),
    );
  });

  it("rejects a missing, mismatched or untrusted attestation and writes nothing", async () => {
    const agent = await h.newAgent();
    const run = await attestedRun(tee, agentBoundNonce(agent.address));
    const foreign = await attestedRun(MockTeeProvider.create(), agentBoundNonce(agent.address));
    const cases: [ErrorCode, () => Promise<unknown>][] = [
      [
        "AGENCY_ATTESTATION_REQUIRED",
        () => h.engine.agency.recordAction(agent.action({ attestationHash: run.attestationHash })),
      ],
      [
        "AGENCY_ATTESTATION_MISMATCH",
        () =>
          h.engine.agency.recordAction({
            ...agent.action({ attestationHash: run.attestationHash }),
            attestation: foreign.quote,
          }),
      ],
      [
        "AGENCY_ATTESTATION_MISMATCH",
        () => h.engine.agency.recordAction({ ...agent.action(), attestation: run.quote }),
      ],
      [
        "AGENCY_ATTESTATION_INVALID",
        () =>
          h.engine.agency.recordAction({
            ...agent.action({ attestationHash: foreign.attestationHash }),
            attestation: foreign.quote,
          }),
      ],
      [
        "AGENCY_ATTESTATION_INVALID",
        () =>
          h.engine.agency.recordAction({
            ...agent.action({ attestationHash: run.attestationHash }),
            attestation: { ...run.quote, format: "x" },
          }),
      ],
    ];
    for (const [code, attempt] of cases) {
      const before = await snapshot(h.engine);
      await expectCode(attempt(), code);
      expect(await snapshot(h.engine)).toEqual(before);
    }
  });

  it("a log that requires attestations refuses plain actions; an allow-list refuses other code", async () => {
    const strict = await openTestEngine({
      attestation: {
        mode: "required",
        trustedRoots: tee.trustedRoots,
        allowedMeasurements: [`0x${"00".repeat(32)}`],
      },
    });
    try {
      const agent = await strict.newAgent();
      const run = await attestedRun(tee, agentBoundNonce(agent.address));
      await expectCode(
        strict.engine.agency.recordAction(agent.action()),
        "AGENCY_ATTESTATION_REQUIRED",
      );
      await expectCode(
        strict.engine.agency.recordAction({
          ...agent.action({ attestationHash: run.attestationHash }),
          attestation: run.quote,
        }),
        "AGENCY_ATTESTATION_INVALID",
      );
    } finally {
      await strict.close();
    }
  });
});
