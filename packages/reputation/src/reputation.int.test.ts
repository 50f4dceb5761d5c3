import { signOutcome } from "@chaoscore/core";
import type { Db } from "@chaoscore/log";
import { CHAIN_ID, openTestEngine, TEST_DB_KIND } from "@chaoscore/testkit";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReputationComputer } from "./index.js";
import {
  type Agent,
  clock,
  counts,
  DAY,
  expectCode,
  expectSameState,
  type Harness,
  RUNS,
  state,
  T0,
} from "./test-support/reputation-fixture.js";

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
