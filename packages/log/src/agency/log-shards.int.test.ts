/**
 * Issue 18 item 2: shards of a log family (docs/spec/shards.md) — rotation by
 * size and age in the append transaction, the link entry, writes naming a
 * frozen shard, nonces across a rotation, receipts and the audit per shard,
 * two engines racing on one database.
 */
import {
  deriveShardKey,
  generateNoteKey,
  isChaosCoreError,
  openNote,
  parseShardLink,
  signOutcome,
  verifyReceipt,
  verifyShardLink,
} from "@chaoscore/core";
import { CHAIN_ID, openTestEngine, snapshot, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentRegistry } from "../registry/index.js";
import { LOG_MIGRATIONS, migrate } from "../store/migrations.js";
import { openDatabase } from "../store/open-database.js";
import { LogFamily } from "./log-family.js";
import { ProofOfAgency } from "./proof-of-agency.js";
import { TransparencyLog } from "./transparency-log.js";

type H = Awaited<ReturnType<typeof openTestEngine>>;

async function refused(h: H, code: string, fn: () => Promise<unknown>) {
  const before = await snapshot(h.engine);
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  expect(isChaosCoreError(error) ? error.code : String(error)).toBe(code);
  expect(await snapshot(h.engine)).toEqual(before);
  return error as { details?: unknown };
}

describe(`shards by size on ${TEST_DB_KIND}`, () => {
  let h: H;
  beforeAll(async () => {
    h = await openTestEngine({ shards: { maxEntries: 4 } });
  });
  afterAll(() => h.close());

  it("freezes shard 0 at 4 leaves and starts shard 1 with its link entry; nonces run on", async () => {
    const agent = await h.newAgent();
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await h.engine.agency.recordAction(agent.action()));
    expect(results.map((r) => [r.log, r.leafIndex])).toEqual([
      ["default", 0],
      ["default", 1],
      ["default", 2],
      ["default", 3],
      ["default-s1", 1],
      ["default-s1", 2],
    ]);
    const shards = await h.engine.logs.list();
    expect(shards.map((s) => [s.id, s.shard, s.state, s.size, s.frozenSize, s.successor])).toEqual([
      ["default", 0, "frozen", 4, 4, "default-s1"],
      ["default-s1", 1, "active", 3, undefined, undefined],
    ]);
    const [s0, s1] = shards as [(typeof shards)[0], (typeof shards)[0]];
    expect(s1.origin).toBe(`${s0.origin}/s1`);
    expect(s1.verifierKey).toBe(
      deriveShardKey((await signerOf(h)).signerKey, `${s0.origin}/s1`).verifierKey,
    );
    // the certificate: the family key signs the shard's number, origin and key
    expect(openNote(s1.certificate as string, h.verifierKey).text).toBe(
      `chaoscore.log-shard/v1\n${s0.origin}\n1\n${s1.origin}\n${s1.verifierKey}\n`,
    );
    // leaf 0 of shard 1 commits to shard 0's final (and last) checkpoint
    const shard1 = await h.engine.logs.get("default-s1");
    const [leaf0] = await shard1.entries(0, 1);
    const link = parseShardLink(leaf0?.entry as Uint8Array);
    const final = await h.engine.log.latestCheckpoint();
    expect(final?.size).toBe(4);
    expect(link.previous.checkpoint).toBe(final?.note);
    verifyShardLink(link, h.verifierKey, { size: 4, rootHash: await h.engine.log.rootAt(4) });
    // the agent's nonces continued: 1..6 across both shards
    const page = await h.engine.agency.query({ agent: agent.address, limit: 10 });
    expect(page.items.map((a) => [a.log, a.nonce])).toEqual(
      results.map((r, i) => [r.log, String(i + 1)]),
    );
  });

  it("builds each receipt in its action's own shard; both verify", async () => {
    const page = await h.engine.agency.query({ limit: 10 });
    const first = page.items[0];
    const last = page.items.at(-1);
    const r0 = await h.engine.agency.getReceipt(first?.id as string);
    const r1 = await h.engine.agency.getReceipt(last?.id as string);
    expect(r0.checkpoint.startsWith("chaoscore.test/log/default\n4\n")).toBe(true);
    expect(r1.checkpoint.startsWith("chaoscore.test/log/default/s1\n")).toBe(true);
    await expect(h.engine.agency.verify(first?.id as string)).resolves.toBeDefined();
    await expect(h.engine.agency.verify(last?.id as string)).resolves.toBeDefined();
    // shard 1's receipt carries its certificate and verifies under the family key
    const shard1 = await h.engine.logs.get("default-s1");
    expect((r1 as { shard?: string }).shard).toBe((await h.engine.logs.list())[1]?.certificate);
    expect((r0 as { shard?: string }).shard).toBeUndefined();
    expect(verifyReceipt(r1, h.verifierKey).shard?.verifierKey).toBe(shard1.verifierKey);
    // without its certificate it does not
    const { shard: _cert, ...bare } = r1 as typeof r1 & { shard?: string };
    expect(() => verifyReceipt(bare, h.verifierKey)).toThrow();
  });

  it("pages through both shards with a cursor", async () => {
    const one = await h.engine.agency.query({ limit: 4 });
    expect(one.nextCursor).toBe("3");
    const two = await h.engine.agency.query({ limit: 1, cursor: one.nextCursor as string });
    expect(two.items.map((a) => [a.log, a.leafIndex])).toEqual([["default-s1", 1]]);
    expect(two.nextCursor).toBe("1:1");
    const three = await h.engine.agency.query({ limit: 5, cursor: "1:1" });
    expect(three.items.map((a) => a.leafIndex)).toEqual([2]);
    await expect(h.engine.agency.query({ cursor: "x:1" })).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
  });

  it("refuses a write that names the frozen shard (LOG_SHARD_FROZEN) or an unknown log, storing nothing", async () => {
    const agent = await h.newAgent();
    const error = await refused(h, "LOG_SHARD_FROZEN", () =>
      h.engine.agency.recordAction({ ...agent.action(), log: "default" }),
    );
    expect(error.details).toEqual({
      log: "default",
      activeLog: "default-s1",
      activeOrigin: "chaoscore.test/log/default/s1",
    });
    await refused(h, "LOG_NOT_FOUND", () =>
      h.engine.agency.recordAction({ ...agent.action(), log: "nope" }),
    );
    // naming the active shard is fine
    const ok = await h.engine.agency.recordAction({ ...agent.action(), log: "default-s1" });
    expect(ok.log).toBe("default-s1");
    // and the frozen tree itself refuses an append
    await refused(h, "LOG_SHARD_FROZEN", () =>
      h.db.transaction((tx) => h.engine.log.appendInTransaction(tx, [new Uint8Array([1])])),
    );
  });

  it("refuses a replayed nonce after the rotation, and answers a replayed action with its first record", async () => {
    const agent = await h.newAgent();
    const before = await h.engine.agency.recordAction(agent.action({ nonce: 10 }));
    // fill the active shard and rotate once more
    const other = await h.newAgent();
    while ((await h.engine.logs.active()).id === before.log) {
      await h.engine.agency.recordAction(other.action());
    }
    const active = (await h.engine.logs.active()).id;
    expect(active).not.toBe(before.log);
    // another action under the same nonce (another type): refused though it lands in a new shard
    await refused(h, "AGENCY_NONCE_NOT_INCREASING", () =>
      h.engine.agency.recordAction(agent.action({ nonce: 10, actionType: "test.other" })),
    );
    const signed = agent.action({ nonce: 11 });
    const first = await h.engine.agency.recordAction(signed);
    expect(first.log).toBe(active);
    const again = await h.engine.agency.recordAction(signed);
    expect(again).toEqual({ ...first, duplicate: true });
  });

  it("rotates a due shard for writes that name it too (no shard grows past the limit); a resent entry naming an unknown log is LOG_NOT_FOUND", async () => {
    const agent = await h.newAgent();
    const start = (await h.engine.logs.active()).id;
    let refusal: unknown;
    let action = agent.action();
    for (let i = 0; i < 6 && refusal === undefined; i++) {
      try {
        await h.engine.agency.recordAction({ ...action, log: start });
        action = agent.action();
      } catch (error) {
        refusal = error;
      }
    }
    // the write naming the shard that became due froze it and was refused
    const next = await h.engine.logs.active();
    expect(next.id).not.toBe(start);
    expect(refusal).toMatchObject({
      code: "LOG_SHARD_FROZEN",
      details: { log: start, activeLog: next.id },
    });
    const frozen = (await h.engine.logs.list()).find((s) => s.id === start);
    expect(frozen).toMatchObject({ state: "frozen", frozenSize: 4 });
    // nothing of the refused write was stored: sent again unpinned, it is new
    const sent = await h.engine.agency.recordAction(action);
    expect(sent).toMatchObject({ log: next.id, leafIndex: 1, duplicate: false });
    // resent naming a log that is none of the family's: refused, nothing changes
    await refused(h, "LOG_NOT_FOUND", () =>
      h.engine.agency.recordAction({ ...action, log: "nope" }),
    );
    // resent naming the frozen shard: answered with its first record
    expect(await h.engine.agency.recordAction({ ...action, log: start })).toMatchObject({
      log: next.id,
      leafIndex: 1,
      duplicate: true,
    });
  });

  it("records in a caller's transaction (studios) through a rotation, in the new shard", async () => {
    const agent = await h.newAgent();
    const other = await h.newAgent();
    const start = (await h.engine.logs.active()).id;
    // fill the active shard up to its limit without rotating
    let size = (await h.engine.logs.list()).at(-1)?.size ?? 0;
    while (size < 4) {
      await h.engine.agency.recordAction(other.action());
      size = (await h.engine.logs.list()).at(-1)?.size ?? 0;
    }
    expect((await h.engine.logs.active()).id).toBe(start);
    const done = await h.db.transaction((tx) =>
      h.engine.agency.recordInTransaction(tx, [{ kind: "action", ...agent.action() }]),
    );
    done.commit();
    expect(done.results[0]?.log).not.toBe(start);
    expect(done.results[0]?.leafIndex).toBe(1);
    expect((await h.engine.logs.active()).id).toBe(done.results[0]?.log);
  });

  it("carries no outcome recorded in a later shard than its action (not another outcome either)", async () => {
    const agent = await h.newAgent();
    const judge = await h.newAgent();
    const other = await h.newAgent();
    const action = await h.engine.agency.recordAction(agent.action());
    const outcome = (n: number) =>
      signOutcome({
        privateKey: (n === 1 ? agent : judge).privateKey,
        chainId: CHAIN_ID,
        action: action.id,
        status: "success",
        nonce: (n === 1 ? agent : judge).nextNonce(),
        result: { n },
        metrics: { n },
      });
    const same = await h.engine.agency.recordOutcome(outcome(1));
    expect(same.log).toBe(action.log);
    while ((await h.engine.logs.active()).id === action.log) {
      await h.engine.agency.recordAction(other.action());
    }
    const later = await h.engine.agency.recordOutcome(outcome(2));
    expect(later.log).not.toBe(action.log);
    // the action's receipt carries its outcome in the same shard
    const r1 = await h.engine.agency.getReceipt(action.id);
    expect(r1.outcome?.leafIndex).toBe(same.leafIndex);
    // the later outcome's receipt is the action's, without an outcome: not the other one
    const r2 = await h.engine.agency.getReceipt(later.id);
    expect(r2.action.leafIndex).toBe(action.leafIndex);
    expect(r2.outcome).toBeNull();
    expect(verifyReceipt(r2, h.verifierKey).outcomeId).toBeNull();
  });

  it("audits every shard and each link entry; a tampered link entry is found", async () => {
    const clean = await h.engine.agency.audit();
    expect(clean.findings).toEqual([]);
    const ids = (await h.engine.logs.list()).map((s) => s.id);
    expect(ids.slice(0, 3)).toEqual(["default", "default-s1", "default-s2"]);
    expect(clean.shards.map((s) => s.id)).toEqual(ids);
    expect(clean.size).toBe(clean.shards.reduce((n, s) => n + s.size, 0));
    // an operator edits shard 1's frozen size: the link check of shard 2 names it
    await h.db.query("UPDATE logs SET frozen_size = frozen_size - 1 WHERE id = 'default-s1'");
    const bad = await h.engine.agency.audit();
    expect(bad.findings.map((f) => [f.log, f.index, f.kind])).toEqual([
      ["default-s2", 0, "entry-invalid"],
    ]);
    await h.db.query("UPDATE logs SET frozen_size = frozen_size + 1 WHERE id = 'default-s1'");
  });
});

describe(`shards by age on ${TEST_DB_KIND}`, () => {
  let h: H;
  beforeAll(async () => {
    h = await openTestEngine({ shards: { maxAgeSeconds: 3600 } });
  });
  afterAll(() => h.close());

  it("rotates at the first append once the active shard is older than the limit", async () => {
    const agent = await h.newAgent();
    await h.engine.agency.recordAction(agent.action());
    await h.engine.agency.recordAction(agent.action());
    expect((await h.engine.logs.list()).length).toBe(1);
    await h.db.query(
      "UPDATE logs SET created_at = now() - interval '2 hours' WHERE id = 'default'",
    );
    const r = await h.engine.agency.recordAction(agent.action());
    expect([r.log, r.leafIndex]).toEqual(["default-s1", 1]);
    // a fresh shard holding only its link does not rotate again by age
    await h.db.query(
      "UPDATE logs SET created_at = now() - interval '2 hours' WHERE id = 'default-s1'",
    );
    const next = await h.engine.agency.recordAction(agent.action());
    expect(next.log).toBe("default-s2");
    expect((await h.engine.agency.audit()).findings).toEqual([]);
  });
});

describe(`the family's lock on ${TEST_DB_KIND}`, () => {
  let h: H;
  beforeAll(async () => {
    h = await openTestEngine({ shards: { maxEntries: 3 } });
  });
  afterAll(() => h.close());

  it("a writer that waited while another rotated appends to the new shard", async () => {
    const agent = await h.newAgent();
    for (let i = 0; i < 3; i++) await h.engine.agency.recordAction(agent.action());
    // The first transaction rotates (shard 0 holds 3) and keeps the family's
    // lock; the second asks for it meanwhile (on a server: it waits, and its
    // statement cannot see the shard the first creates), then gets it.
    let rotated!: () => void;
    const rotating = new Promise<void>((resolve) => {
      rotated = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = h.db.transaction(async (tx) => {
      const target = await h.engine.logs.lockActive(tx);
      rotated();
      await held;
      return target;
    });
    await rotating;
    const second = h.db.transaction(async (tx) => {
      const target = await h.engine.logs.lockActive(tx, { rotate: false });
      return { id: target.log.id, size: target.locked?.size };
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    const firstTarget = await first;
    firstTarget.commit();
    expect(firstTarget.log.id).toBe("default-s1");
    expect(await second).toEqual({ id: "default-s1", size: 1 });
    const shards = await h.engine.logs.list();
    expect(shards.map((s) => [s.id, s.state])).toEqual([
      ["default", "frozen"],
      ["default-s1", "active"],
    ]);
  });
});

describe(`two engines on one database on ${TEST_DB_KIND}`, () => {
  let h: H;
  beforeAll(async () => {
    h = await openTestEngine({ shards: { maxEntries: 5 } });
  });
  afterAll(() => h.close());

  it("race through rotations and make exactly one successor each time", async () => {
    // a second writer process: its own registry, family and Proof of Agency on the same database
    const keys = await signerOf(h);
    const { verifyingContract, chainId } = h.engine.agency;
    const log = await TransparencyLog.open(h.db, {
      id: "default",
      origin: "chaoscore.test/log/default",
      ...keys,
    });
    const second = {
      agency: new ProofOfAgency({
        db: h.db,
        log,
        logs: new LogFamily(h.db, log, { signerKey: keys.signerKey, rotation: { maxEntries: 5 } }),
        agents: new AgentRegistry({ db: h.db, chainId, verifyingContract }),
        chainId,
        verifyingContract,
      }),
      close: () => second.agency.close(),
    };
    try {
      const agents = await Promise.all([1, 2, 3, 4].map(() => h.newAgent()));
      // every agent writes through both engines at once, 8 rounds
      for (let round = 0; round < 8; round++) {
        await Promise.all(
          agents.map((a, i) =>
            (i % 2 === round % 2 ? h.engine : second).agency.recordAction(a.action()),
          ),
        );
      }
      const shards = await h.engine.logs.list();
      expect(shards.filter((s) => s.state === "active").length).toBe(1);
      expect(shards.map((s) => s.shard)).toEqual(shards.map((_, i) => i));
      for (const s of shards.slice(0, -1)) {
        expect(s.successor).toBe(`default-s${s.shard + 1}`);
        expect(s.frozenSize).toBe(s.size);
      }
      const [rows] = await h.db.query<{ n: number }>("SELECT count(*)::int AS n FROM actions");
      expect(rows?.n).toBe(32);
      expect((await h.engine.agency.audit()).findings).toEqual([]);
    } finally {
      await second.close();
    }
  });
});

/** The family's signer key of a test engine (the test kit generates it). */
async function signerOf(h: H): Promise<{ signerKey: string; verifierKey: string }> {
  const log = h.engine.log as unknown as { signerKey: string };
  return { signerKey: log.signerKey, verifierKey: h.verifierKey };
}

describe("migration 13 on a database made before shards", () => {
  it("keeps the existing log row as shard 0 of its own family, active, otherwise unchanged", async () => {
    const before = LOG_MIGRATIONS.filter((m) => m.version < 13);
    const db = await openDatabase({ databaseUrl: null, dataDir: ":memory:", migrations: before });
    try {
      const keys = generateNoteKey("chaoscore.test/log/old");
      const log = await TransparencyLog.open(db, {
        id: "old",
        origin: "chaoscore.test/log/old",
        ...keys,
      });
      await db.query("UPDATE logs SET size = 0 WHERE id = $1", [log.id]);
      const [old] = await db.query("SELECT id, origin, verifier_key, size FROM logs");
      expect(await migrate(db, LOG_MIGRATIONS)).toEqual([13, 14, 15]);
      const [row] = await db.query<Record<string, unknown>>(
        "SELECT id, origin, verifier_key, size, family_id, shard, state, frozen_size, successor, certificate FROM logs",
      );
      expect(row).toEqual({
        ...old,
        family_id: "old",
        shard: 0,
        state: "active",
        frozen_size: null,
        successor: null,
        certificate: null,
      });
      // a row inserted the old way (no family) is shard 0 of its own family
      await db.query("INSERT INTO logs (id, origin, verifier_key) VALUES ('x', 'x/o', 'k')");
      const [x] = await db.query("SELECT family_id, shard, state FROM logs WHERE id = 'x'");
      expect(x).toEqual({ family_id: "x", shard: 0, state: "active" });
      // one active shard per family
      await expect(
        db.query(
          "INSERT INTO logs (id, origin, verifier_key, family_id, shard) VALUES ('x-s1', 'x/o/s1', 'k', 'x', 1)",
        ),
      ).rejects.toBeDefined();
    } finally {
      await db.close();
    }
  });
});
