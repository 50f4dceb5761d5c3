import { randomBytes } from "node:crypto";
import { bytesToHex, type ErrorCode, signOutcome } from "@chaoscore/core";
import { CHAIN_ID, openTestEngine, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReputationComputer } from "./index.js";
import {
  type Agent,
  counts,
  expectCode,
  type Harness,
  T0,
} from "./test-support/reputation-fixture.js";

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
