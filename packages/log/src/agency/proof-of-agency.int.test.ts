import { randomBytes } from "node:crypto";
import {
  bytesToHex,
  isChaosCoreError,
  openCheckpoint,
  privateKeyToAddress,
  signAction,
  signOutcome,
  verifyConsistency,
  verifyReceipt,
} from "@chaoscore/core";
import { CHAIN_ID, openTestEngine, snapshot, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCode, type Harness } from "./test-support/agency-harness.js";

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

  it("looks up only resends in the duplicate check: entries above the agent's last nonce are new", async () => {
    const agent = await h.newAgent();
    const signed = agent.action({ nonce: 1 });
    const first = await h.engine.agency.recordAction(signed);
    const db = h.engine.db;
    const transaction = db.transaction.bind(db);
    const lookups: unknown[][] = [];
    db.transaction = (fn) =>
      transaction((tx) => {
        const query = tx.query.bind(tx);
        tx.query = (sql, params) => {
          if (sql.includes("FROM actions") && sql.includes("ANY($1::bytea[])")) {
            lookups.push(params ?? []);
          }
          return query(sql, params);
        };
        return fn(tx);
      });
    try {
      // a fresh batch: no lookup at all
      const fresh = await Promise.all(
        [2, 3].map((nonce) => h.engine.agency.recordAction(agent.action({ nonce }))),
      );
      expect(fresh.map((r) => r.duplicate)).toEqual([false, false]);
      expect(lookups).toEqual([]);
      // a resend beside a new entry: the resend is looked up and answered with its first record
      const before = await snapshot(h.engine);
      const [again, next] = await Promise.all([
        h.engine.agency.recordAction(signed),
        h.engine.agency.recordAction(agent.action({ nonce: 4 })),
      ]);
      expect(again).toEqual({ ...first, duplicate: true });
      expect(next?.duplicate).toBe(false);
      expect(lookups).toHaveLength(1);
      // an entry at an old nonce that was never recorded is refused, and nothing is written for it
      const after = await snapshot(h.engine);
      await expectCode(
        h.engine.agency.recordAction(agent.action({ nonce: 2, payload: { other: true } })),
        "AGENCY_NONCE_NOT_INCREASING",
      );
      expect(await snapshot(h.engine)).toEqual(after);
      expect(after).not.toEqual(before);
    } finally {
      db.transaction = transaction;
    }
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
    // Times Postgres cannot hold (found by schemathesis: a 500 before): refused as bad input.
    for (const from of ["999999999999", "0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z"]) {
      await expectCode(h.engine.agency.query({ from }), "INVALID_INPUT");
      await expectCode(h.engine.agency.query({ to: from }), "INVALID_INPUT");
    }
    const edge = await h.engine.agency.query({ from: "9999-12-31T23:59:59Z" });
    expect(edge.items).toEqual([]);
    await expectCode(h.engine.agency.getAction("0x12"), "AGENCY_ACTION_NOT_FOUND");
    await expectCode(
      h.engine.agency.getReceipt(bytesToHex(randomBytes(32))),
      "AGENCY_ACTION_NOT_FOUND",
    );
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
});
