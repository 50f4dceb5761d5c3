import { randomBytes } from "node:crypto";
import {
  bytesToHex,
  canonicalJsonBytes,
  type ErrorCode,
  isChaosCoreError,
  leafHash,
  rootFromLeafHashes,
  signOutcome,
} from "@chaoscore/core";
import type { Db } from "@chaoscore/log";
import { CHAIN_ID, openTestEngine, TEST_DB_KIND } from "@chaoscore/testkit";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Dimension, ReputationComputer, verifyScoreProof } from "./index.js";

type Harness = Awaited<ReturnType<typeof openTestEngine>>;
type Agent = Awaited<ReturnType<Harness["newAgent"]>>;

const T0 = 1_750_000_000;
const DAY = 86_400;
const RUNS = Number(process.env.FC_RUNS ?? 12);

async function expectCode(promise: Promise<unknown>, code: ErrorCode) {
  try {
    await promise;
  } catch (error) {
    expect(isChaosCoreError(error) ? error.code : error).toBe(code);
    return;
  }
  expect.unreachable(`expected ${code}`);
}

/** Row counts of every reputation table: to prove a refused call wrote nothing. */
async function counts(db: Db) {
  const [row] = await db.query(
    `SELECT (SELECT count(*) FROM reputation_feedback)::int AS feedback,
            (SELECT count(*) FROM reputation_contributions)::int AS contributions,
            (SELECT count(*) FROM reputation_scores)::int AS scores,
            (SELECT coalesce(sum(samples), 0)::int FROM reputation_scores) AS samples,
            (SELECT count(*) FROM reputation_epochs)::int AS epochs,
            (SELECT count(*) FROM reputation_trust)::int AS trust`,
  );
  return row;
}

type Snapshot = {
  scores: Record<string, unknown>[];
  contributions: Record<string, unknown>[];
};

async function state(db: Db): Promise<Snapshot> {
  const scores = await db.query(
    `SELECT agent, dimension, alpha, beta, samples::int AS samples, n_outcome::int AS n_outcome,
            n_linked::int AS n_linked, n_unlinked::int AS n_unlinked, n_self::int AS n_self, last_update
     FROM reputation_scores ORDER BY agent, dimension`,
  );
  const contributions = await db.query(
    `SELECT encode(id, 'hex') AS id, source, encode(action_id, 'hex') AS action_id, agent, rater,
            capability, studio, x, evidence, e, t
     FROM reputation_contributions ORDER BY id`,
  );
  return { scores, contributions };
}

/** Equal up to 1e-9 (relative, for α and β; absolute below 1). */
function expectSameState(a: Snapshot, b: Snapshot) {
  expect(b.contributions).toEqual(a.contributions);
  expect(b.scores.length).toBe(a.scores.length);
  a.scores.forEach((x, i) => {
    const y = b.scores[i] as Record<string, number | string>;
    for (const key of Object.keys(x)) {
      const u = x[key];
      const v = y[key];
      if (key === "alpha" || key === "beta") {
        const scale = Math.max(1, Math.abs(Number(u)));
        const diff = Math.abs(Number(u) - Number(v)) / scale;
        expect(diff, `${x.agent} ${x.dimension} ${key}`).toBeLessThan(1e-9);
      } else {
        expect(v, `${x.agent} ${x.dimension} ${key}`).toEqual(u);
      }
    }
  });
}

/** The engine's clock, settable: signed messages must be near it. */
function clock() {
  let now = T0;
  return {
    set: (t: number) => {
      now = t;
    },
    now: () => new Date(now * 1000),
  };
}

describe(`reputation on ${TEST_DB_KIND}`, () => {
  let h: Harness;
  let time: ReturnType<typeof clock>;
  let rep: ReputationComputer;
  let operator: Agent;
  let agents: Agent[];

  /** Records a signed action of `agent` and an outcome by `evaluator`; returns the ids. */
  async function evaluated(
    agent: Agent,
    evaluator: Agent,
    options: {
      status?: "success" | "failure" | "partial";
      score?: number;
      studio?: string;
      actionType?: string;
      t?: number;
    } = {},
  ) {
    const t = options.t ?? T0;
    time.set(t);
    const action = await h.engine.agency.recordAction(
      agent.action({
        studio: options.studio ?? "gov",
        actionType: options.actionType ?? "governance.vote",
        timestamp: t,
      }),
    );
    const outcome = await h.engine.agency.recordOutcome(
      signOutcome({
        privateKey: evaluator.privateKey,
        chainId: CHAIN_ID,
        action: action.id,
        status: options.status ?? "success",
        nonce: evaluator.nextNonce(),
        metrics: options.score === undefined ? {} : { score: options.score },
        timestamp: t,
      }),
    );
    return { actionId: action.id, outcomeId: outcome.id };
  }

  beforeAll(async () => {
    time = clock();
    h = await openTestEngine({ now: time.now });
    operator = await h.newAgent(["evaluation"]);
    agents = [];
    for (let i = 0; i < 4; i++) agents.push(await h.newAgent());
    rep = new ReputationComputer({
      db: h.db,
      preTrusted: [operator.address],
      now: time.now,
    });
  });
  afterAll(() => h.close());

  it("scores an evaluated outcome: Beta(1 + w·x, 1 + w·(1 − x)) in overall, capability and studio", async () => {
    const [a] = agents as [Agent];
    const { actionId, outcomeId } = await evaluated(a, operator, { studio: "gov", t: T0 });
    const r = await rep.applyOutcome(outcomeId);
    expect(r).toEqual({
      id: outcomeId,
      applied: true,
      agent: a.address,
      dimensions: ["overall", "capability:governance", "studio:gov"],
      x: 1,
      weight: 1,
    });
    for (const dimension of r.dimensions) {
      const score = await rep.get(a.address, dimension, { asOf: T0 });
      expect(score).toMatchObject({
        agent: a.address,
        dimension,
        value: 2 / 3,
        samples: 1,
        lastUpdate: new Date(T0 * 1000).toISOString(),
        breakdown: {
          alpha: 2,
          beta: 1,
          byEvidenceClass: { outcome: 1, linked: 0, unlinked: 0, self: 0 },
          topContributors: [actionId],
        },
      });
      expect(score.confidence).toBeCloseTo(1 - Math.sqrt((12 * 2) / (9 * 4)), 12);
    }
    // One half-life later, the evidence counts half.
    const later = await rep.get(a.address, "overall", { asOf: T0 + 30 * DAY });
    expect(later.breakdown.alpha).toBeCloseTo(1.5, 12);
    expect(later.value).toBeCloseTo(1.5 / 2.5, 12);
    // A replay changes nothing.
    const before = await counts(h.db);
    expect(await rep.applyOutcome({ id: outcomeId })).toMatchObject({ applied: false });
    expect(await counts(h.db)).toEqual(before);
  });

  it("reads partial outcomes' metrics.score, 0.5 without one; a self-evaluation weighs 0", async () => {
    const [, b] = agents as [Agent, Agent];
    const p1 = await evaluated(b, operator, { status: "partial", score: 0.8, t: T0 });
    const p2 = await evaluated(b, operator, { status: "partial", t: T0 });
    const self = await evaluated(b, b, { status: "success", t: T0 });
    expect((await rep.applyOutcome(p1.outcomeId)).x).toBe(0.8);
    expect((await rep.applyOutcome(p2.outcomeId)).x).toBe(0.5);
    expect(await rep.applyOutcome(self.outcomeId)).toMatchObject({ x: 1, weight: 0 });
    const score = await rep.get(b.address, "overall", { asOf: T0 });
    expect(score.breakdown.alpha).toBeCloseTo(1 + 0.8 + 0.5, 12);
    expect(score.breakdown.beta).toBeCloseTo(1 + 0.2 + 0.5, 12);
    expect(score.breakdown.byEvidenceClass).toEqual({
      outcome: 2,
      linked: 0,
      unlinked: 0,
      self: 1,
    });
  });

  it("does constant work per outcome: the same statements whatever the history", async () => {
    const [, , c] = agents as [Agent, Agent, Agent];
    let statements = 0;
    const counting = (db: Db): Db => ({
      kind: db.kind,
      query: (sql, params) => {
        statements++;
        return db.query(sql, params);
      },
      exec: (sql) => {
        statements++;
        return db.exec(sql);
      },
      transaction: (fn) => db.transaction((tx) => fn(counting(tx))),
      close: () => db.close(),
    });
    const counted = new ReputationComputer({
      db: counting(h.db),
      preTrusted: [operator.address],
      now: time.now,
    });
    const perUpdate: number[] = [];
    for (let i = 0; i < 12; i++) {
      const { outcomeId } = await evaluated(c, operator, { t: T0 + i * 3600 });
      statements = 0;
      await counted.applyOutcome(outcomeId);
      perUpdate.push(statements);
    }
    expect(new Set(perUpdate)).toEqual(new Set([3])); // lock, one read, one write
  });

  it("recomputes from the log exactly the incremental state, on random outcome streams", async () => {
    const pool = [...agents, operator];
    const evaluatedActions: { actionId: `0x${string}`; agent: Agent }[] = [];
    const event = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant("outcome" as const),
          agent: fc.nat(3),
          evaluator: fc.nat(4),
          status: fc.constantFrom("success", "failure", "partial"),
          score: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
          studio: fc.constantFrom("gov", "grants", ""),
          actionType: fc.constantFrom("governance.vote", "analysis.simulate", "x"),
          dt: fc.integer({ min: 0, max: 90 * DAY }),
          replay: fc.boolean(),
        }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant("feedback" as const),
          rater: fc.nat(4),
          subject: fc.nat(3),
          value: fc.double({ min: 0, max: 1, noNaN: true }),
          dimension: fc.constantFrom("overall", "capability:governance", "studio:gov"),
          linked: fc.boolean(),
          dt: fc.integer({ min: 0, max: 90 * DAY }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("epoch" as const) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 14 }), async (events) => {
        for (const e of events) {
          if (e.kind === "outcome") {
            const agent = pool[e.agent] as Agent;
            const evaluator = pool[e.evaluator] as Agent;
            const ids = await evaluated(agent, evaluator, {
              status: e.status as "success" | "failure" | "partial",
              ...(e.score === undefined ? {} : { score: e.score }),
              studio: e.studio,
              actionType: e.actionType,
              t: T0 + e.dt,
            });
            evaluatedActions.push({ actionId: ids.actionId, agent });
            await rep.applyOutcome(ids.outcomeId);
            if (e.replay) await rep.applyOutcome(ids.outcomeId);
          } else if (e.kind === "feedback") {
            const subject = pool[e.subject] as Agent;
            const rater = pool[e.rater] as Agent;
            if (rater === subject) continue;
            const evidence = e.linked
              ? evaluatedActions.find((x) => x.agent === subject)?.actionId
              : undefined;
            await rep.recordFeedback({
              rater: rater.address,
              subject: subject.address,
              value: e.value,
              dimension: e.dimension,
              evidence: evidence === undefined ? null : { actionId: evidence },
              timestamp: T0 + e.dt,
            });
          } else {
            await rep.runEpoch({ asOf: T0 + 100 * DAY });
          }
        }
        const incremental = await state(h.db);
        await rep.recompute();
        const recomputed = await state(h.db);
        expectSameState(incremental, recomputed);
      }),
      { numRuns: RUNS },
    );
    const [row] = await h.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM reputation_contributions",
    );
    expect(row?.n).toBeGreaterThan(RUNS);
  });

  it("explains a score: every contribution, newest first, paginated, with its weights", async () => {
    const t = await h.newAgent();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { outcomeId, actionId } = await evaluated(t, operator, { t: T0 + i * DAY });
      await rep.applyOutcome(outcomeId);
      ids.push(`${outcomeId}/${actionId}`);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await rep.explain(t.address, "studio:gov", {
        limit: 2,
        asOf: T0 + 4 * DAY,
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const item of page.items) {
        seen.push(`${item.id}/${item.actionId}`);
        expect(item).toMatchObject({
          source: "outcome",
          rater: operator.address,
          evidence: "outcome",
          evidenceWeight: 1,
          raterWeight: 1,
          weight: 1,
        });
      }
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual([...ids].reverse());
    const { score, items } = await rep.explain(t.address, "overall", { asOf: T0 + 4 * DAY });
    const sum = items.reduce((s, i) => s + i.effectiveWeight * i.x, 1);
    expect(score.breakdown.alpha).toBeCloseTo(sum, 12);
    await expectCode(
      rep.explain(t.address, "overall", { cursor: "nope" }),
      "REPUTATION_INPUT_INVALID",
    );
  });

  it("ranks agents with topK", async () => {
    const good = await h.newAgent();
    const bad = await h.newAgent();
    for (let i = 0; i < 3; i++) {
      await rep.applyOutcome(
        (await evaluated(good, operator, { studio: "rank", t: T0 })).outcomeId,
      );
      await rep.applyOutcome(
        (await evaluated(bad, operator, { studio: "rank", status: "failure", t: T0 })).outcomeId,
      );
    }
    const top = await rep.topK("studio:rank", 10, { asOf: T0 });
    expect(top.map((s) => s.agent)).toEqual([good.address, bad.address]);
    expect(top[0]?.value).toBeCloseTo(4 / 5, 12);
    expect(top[0]?.breakdown.topContributors).toBeUndefined();
    await expectCode(rep.topK("studio:rank", 0), "REPUTATION_INPUT_INVALID");
  });
});

describe(`reputation epochs and score proofs on ${TEST_DB_KIND}`, () => {
  let h: Harness;
  let rep: ReputationComputer;
  let operator: Agent;
  let agents: Agent[];

  beforeAll(async () => {
    h = await openTestEngine();
    operator = await h.newAgent(["evaluation"]);
    agents = [await h.newAgent(), await h.newAgent(), await h.newAgent()];
    rep = new ReputationComputer({ db: h.db, preTrusted: [operator.address] });
    for (const [i, agent] of agents.entries()) {
      for (let j = 0; j <= i; j++) {
        const action = await h.engine.agency.recordAction(
          agent.action({ studio: `s${j}`, actionType: `cap${i}.run` }),
        );
        const outcome = await h.engine.agency.recordOutcome(
          signOutcome({
            privateKey: operator.privateKey,
            chainId: CHAIN_ID,
            action: action.id,
            status: j % 2 === 0 ? "success" : "failure",
            nonce: operator.nextNonce(),
          }),
        );
        await rep.applyOutcome(outcome.id);
      }
    }
  });
  afterAll(() => h.close());

  it("commits every score as one RFC 9162 root and proves each one", async () => {
    const asOf = Math.floor(Date.now() / 1000);
    const epoch = await rep.runEpoch({ asOf });
    expect(epoch).toMatchObject({ epoch: 1, preTrusted: [operator.address] });
    expect(await rep.epochRoot(1)).toMatchObject({ epoch: 1, root: epoch.root, size: epoch.size });
    expect(await rep.latestEpoch()).toBe(1);
    const rows = await h.db.query<{ agent: string; dimension: Dimension }>(
      "SELECT agent, dimension FROM reputation_scores ORDER BY agent, dimension",
    );
    expect(rows.length).toBe(epoch.size);
    const leafHashes: Uint8Array[] = [];
    for (const r of rows) {
      const proof = await rep.proveScore(r.agent, r.dimension, 1);
      const leaf = verifyScoreProof(JSON.parse(JSON.stringify(proof)), {
        root: epoch.root,
        epoch: 1,
        size: epoch.size,
      });
      const score = await rep.get(r.agent, r.dimension, { asOf });
      expect(leaf).toMatchObject({
        agent: r.agent,
        dimension: r.dimension,
        samples: score.samples,
      });
      expect(leaf.value).toBeCloseTo(score.value, 12);
      leafHashes[proof.leafIndex] = leafHash(canonicalJsonBytes(proof.leaf));
    }
    // An independent recomputation of the root from the leaves.
    expect(bytesToHex(rootFromLeafHashes(leafHashes))).toBe(epoch.root);

    const a = agents[0] as Agent;
    const proof = await rep.proveScore(a.address, "overall", 1);
    const tampered = { ...proof, leaf: { ...proof.leaf, value: 0.99 } };
    expect(() => verifyScoreProof(tampered)).toThrowError(/score proof/);
    try {
      verifyScoreProof(tampered);
    } catch (e) {
      expect(isChaosCoreError(e, "REPUTATION_PROOF_INVALID")).toBe(true);
    }
    expect(() => verifyScoreProof(proof, { root: bytesToHex(randomBytes(32)) })).toThrowError(
      expect.objectContaining({ code: "REPUTATION_PROOF_INVALID" }),
    );
    expect(() => verifyScoreProof(proof, { epoch: 2 })).toThrowError(
      expect.objectContaining({ code: "REPUTATION_PROOF_INVALID" }),
    );
    expect(() => verifyScoreProof({ ...proof, inclusionProof: ["AAAA"] })).toThrowError(
      expect.objectContaining({ code: "REPUTATION_PROOF_INVALID" }),
    );
    await expectCode(rep.proveScore(a.address, "overall", 9), "REPUTATION_EPOCH_NOT_FOUND");
    await expectCode(rep.proveScore(a.address, "studio:s2", 1), "REPUTATION_SCORE_NOT_IN_EPOCH");
    await expectCode(rep.epochRoot(0), "REPUTATION_INPUT_INVALID");
  });

  it("keeps one committed score per epoch in the history", async () => {
    const second = await rep.runEpoch();
    expect(second.epoch).toBe(2);
    const c = agents[2] as Agent;
    const history = await rep.history(c.address, "overall");
    expect(history.map((e) => e.epoch)).toEqual([1, 2]);
    expect(history[1]).toMatchObject({ root: second.root, samples: 3 });
    expect(await rep.history(c.address, "studio:none")).toEqual([]);
  });
});

describe(`reputation against a simple Sybil attack on ${TEST_DB_KIND}`, () => {
  it("100 fresh agents praising one agent move it little; the same praise from pre-trusted raters moves it a lot", async () => {
    const h = await openTestEngine();
    try {
      const operators = [await h.newAgent(["evaluation"]), await h.newAgent(["evaluation"])];
      const rep = new ReputationComputer({
        db: h.db,
        preTrusted: operators.map((o) => o.address),
      });
      const target = await h.newAgent();
      const honest = [await h.newAgent(), await h.newAgent(), await h.newAgent()];
      const evaluate = async (agent: Agent, evaluator: Agent, status: "success" | "failure") => {
        const action = await h.engine.agency.recordAction(agent.action({ studio: "gov" }));
        const outcome = await h.engine.agency.recordOutcome(
          signOutcome({
            privateKey: evaluator.privateKey,
            chainId: CHAIN_ID,
            action: action.id,
            status,
            nonce: evaluator.nextNonce(),
          }),
        );
        await rep.applyOutcome(outcome.id);
      };
      // An honest history: the target does well 4 times out of 8.
      for (let i = 0; i < 8; i++) {
        await evaluate(target, operators[i % 2] as Agent, i % 2 === 0 ? "success" : "failure");
      }
      for (const agent of honest) await evaluate(agent, operators[0] as Agent, "success");
      await rep.runEpoch();
      const before = (await rep.get(target.address)).value;

      // 100 fresh agents: each signs a success outcome of one of the target's
      // actions, gives it plain praise, and praises another Sybil.
      const sybils: Agent[] = [];
      for (let i = 0; i < 100; i++) sybils.push(await h.newAgent());
      for (const [i, sybil] of sybils.entries()) {
        await evaluate(target, sybil, "success");
        await rep.recordFeedback({ rater: sybil.address, subject: target.address, value: 1 });
        await rep.recordFeedback({
          rater: sybil.address,
          subject: (sybils[(i + 1) % 100] as Agent).address,
          value: 1,
        });
      }
      const epoch = await rep.runEpoch();
      const afterSybils = (await rep.get(target.address)).value;
      const sybilWeights = await h.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM reputation_trust WHERE epoch = $1 AND rater = ANY($2::text[])`,
        [epoch.epoch, sybils.map((s) => s.address)],
      );

      // The same praise, 100 successes, from pre-trusted raters.
      for (let i = 0; i < 100; i++) await evaluate(target, operators[i % 2] as Agent, "success");
      await rep.runEpoch();
      const afterOperators = (await rep.get(target.address)).value;

      console.log(
        `sybil: before ${before.toFixed(4)}, after 100 Sybils ${afterSybils.toFixed(4)}, after 100 pre-trusted ${afterOperators.toFixed(4)}`,
      );
      expect(before).toBeCloseTo(0.5, 2);
      expect(Math.abs(afterSybils - before)).toBeLessThan(0.05);
      expect(sybilWeights[0]?.n).toBe(0); // no Sybil has any trust
      expect(afterOperators - afterSybils).toBeGreaterThan(0.4);
      const explained = await rep.explain(target.address, "overall", { limit: 1000 });
      const sybilSet = new Set<string>(sybils.map((s) => s.address));
      expect(
        explained.items.filter((i) => sybilSet.has(i.rater)).every((i) => i.weight === 0),
      ).toBe(true);
    } finally {
      await h.close();
    }
  });
});

describe(`reputation bad input on ${TEST_DB_KIND}`, () => {
  let h: Harness;
  let rep: ReputationComputer;
  let a: Agent;
  let b: Agent;
  let evaluatedAction: `0x${string}`;
  let bareAction: `0x${string}`;

  beforeAll(async () => {
    h = await openTestEngine();
    a = await h.newAgent();
    b = await h.newAgent();
    rep = new ReputationComputer({ db: h.db, preTrusted: [b.address] });
    const action = await h.engine.agency.recordAction(a.action());
    const outcome = await h.engine.agency.recordOutcome(
      signOutcome({
        privateKey: b.privateKey,
        chainId: CHAIN_ID,
        action: action.id,
        status: "success",
        nonce: b.nextNonce(),
      }),
    );
    await rep.applyOutcome(outcome.id);
    evaluatedAction = action.id;
    bareAction = (await h.engine.agency.recordAction(a.action())).id;
  });
  afterAll(() => h.close());

  const unknown = () => bytesToHex(randomBytes(20));

  it("refuses each with a code and writes nothing", async () => {
    const before = await counts(h.db);
    const fb = (over: Record<string, unknown>) =>
      rep.recordFeedback({ rater: b.address, subject: a.address, value: 1, ...over } as never);
    const cases: [Promise<unknown>, ErrorCode][] = [
      // unknown agents
      [fb({ rater: unknown() }), "REPUTATION_AGENT_NOT_FOUND"],
      [fb({ subject: unknown() }), "REPUTATION_AGENT_NOT_FOUND"],
      [rep.get(unknown()), "REPUTATION_AGENT_NOT_FOUND"],
      [rep.history(unknown()), "REPUTATION_AGENT_NOT_FOUND"],
      [fb({ rater: "bob" }), "REPUTATION_INPUT_INVALID"],
      // outcomes of unknown actions, unknown outcomes
      [
        rep.applyOutcome(
          signOutcome({
            privateKey: b.privateKey,
            chainId: CHAIN_ID,
            action: bytesToHex(randomBytes(32)),
            status: "success",
            nonce: 99,
          }),
        ),
        "REPUTATION_ACTION_NOT_FOUND",
      ],
      [rep.applyOutcome(bytesToHex(randomBytes(32))), "REPUTATION_OUTCOME_NOT_FOUND"],
      [rep.applyOutcome("0x1234"), "REPUTATION_INPUT_INVALID"],
      [rep.applyOutcome({ entry: { kind: "outcome" } }), "REPUTATION_INPUT_INVALID"],
      [fb({ evidence: { actionId: bytesToHex(randomBytes(32)) } }), "REPUTATION_ACTION_NOT_FOUND"],
      // values outside [0, 1]
      [fb({ value: 1.5 }), "REPUTATION_VALUE_OUT_OF_RANGE"],
      [fb({ value: -0.1 }), "REPUTATION_VALUE_OUT_OF_RANGE"],
      [fb({ value: Number.NaN }), "REPUTATION_VALUE_OUT_OF_RANGE"],
      [fb({ value: "1" }), "REPUTATION_VALUE_OUT_OF_RANGE"],
      // malformed dimensions
      [fb({ dimension: "reliability" }), "REPUTATION_DIMENSION_INVALID"],
      [fb({ dimension: "capability:" }), "REPUTATION_DIMENSION_INVALID"],
      [fb({ dimension: `studio:${"x".repeat(257)}` }), "REPUTATION_DIMENSION_INVALID"],
      [fb({ dimension: "studio:a\u0000b" }), "REPUTATION_DIMENSION_INVALID"],
      [fb({ dimension: 7 }), "REPUTATION_DIMENSION_INVALID"],
      [rep.get(a.address, "Overall"), "REPUTATION_DIMENSION_INVALID"],
      [rep.topK("capability", 3), "REPUTATION_DIMENSION_INVALID"],
      // the rest
      [fb({ subject: b.address }), "REPUTATION_SELF_RATING"],
      [
        fb({ rater: a.address, subject: b.address, evidence: { actionId: evaluatedAction } }),
        "REPUTATION_EVIDENCE_MISMATCH",
      ],
      [fb({ evidence: { actionId: bareAction } }), "REPUTATION_EVIDENCE_MISMATCH"],
      [fb({ evidence: { actionId: "0x12" } }), "REPUTATION_INPUT_INVALID"],
      [fb({ timestamp: -5 }), "REPUTATION_INPUT_INVALID"],
    ];
    // The calls above all started at once: mark them handled now, then check each.
    for (const [promise] of cases) promise.catch(() => {});
    for (const [promise, code] of cases) await expectCode(promise, code);
    expect(await counts(h.db)).toEqual(before);
    // The same feedback, well formed, is accepted once.
    const ok = await fb({ evidence: { actionId: evaluatedAction }, timestamp: T0 });
    expect(ok).toMatchObject({ applied: true, agent: a.address, weight: 1 });
    expect(await fb({ evidence: { actionId: evaluatedAction }, timestamp: T0 })).toMatchObject({
      id: ok.id,
      applied: false,
    });
  });
});
