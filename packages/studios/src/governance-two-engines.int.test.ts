/**
 * Issue 20 item 3: a governance step used to check under a lock held in one
 * process and to record its action through the queue apart from its table
 * update — two engines on one database could both accept a voter's vote (the
 * log kept two actions, the table one), and a crash between the two writes
 * left an orphan action. Now each step is one transaction under the row lock
 * of what it changes.
 */
import { generateNoteKey, type Hex } from "@chaoscore/core";
import { createEngine, type Engine } from "@chaoscore/engine";
import { CHAIN_ID, openTestEngine } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GovernanceAction, type GovernancePayloads, signGovernanceAction } from "./client.js";
import type { DaoState, Proposal } from "./dao.js";
import { createStudios, type Studios } from "./studios.js";
import { expectOneAccepted, settledCode } from "./test-support/concurrent-steps.js";

type H = Awaited<ReturnType<typeof openTestEngine>>;
type Actor = Awaited<ReturnType<H["newAgent"]>>;

const DAO: DaoState = {
  treasury: 1_000_000,
  monthlyBurn: 20_000,
  parameters: { quorum: 0.5, votingPeriodSeconds: 3600, maxGrant: 200_000 },
  grantsPaid: 0,
};
const grant = (id: string): Proposal => ({
  id,
  title: "Fund the indexer team",
  kind: "grant",
  recipient: `0x${"ab".repeat(20)}`,
  amount: 100_000,
  purpose: "a year of indexer maintenance",
});

let h: H;
let engineB: Engine;
let a: Studios; // "gateway A"
let b: Studios; // "gateway B": another engine on the same database
let operator: Actor;
let voter: Actor;
const studio = "dao2";

beforeAll(async () => {
  const origin = "chaoscore.test/log/governance-two-engines";
  const log = { origin, ...generateNoteKey(origin) };
  h = await openTestEngine({ log });
  engineB = await createEngine({
    db: h.engine.db,
    chainId: CHAIN_ID,
    verifyingContract: h.engine.registry.domain.verifyingContract,
    log,
  });
  a = createStudios(h.engine);
  b = createStudios(engineB);
  operator = await h.newAgent(["governance"]);
  voter = await h.newAgent(["governance"]);
  await a.governance.createStudio({
    id: studio,
    name: "Mock DAO",
    operator: operator.address,
    dao: DAO,
    rewardPolicy: { kind: "fixed", budget: "1000", amountPerSuccess: "100" },
    attestationRequired: false,
  });
  await a.studios.addMember(studio, voter.address, ["agent"]);
});
afterAll(async () => {
  await engineB?.close();
  await h?.close();
});

function sign<A extends GovernanceAction>(
  actor: Actor,
  action: A,
  payload: GovernancePayloads[A],
  previous: Hex | null = null,
) {
  return signGovernanceAction({
    privateKey: actor.privateKey,
    chainId: CHAIN_ID,
    verifyingContract: h.engine.registry.domain.verifyingContract,
    nonce: actor.nextNonce(),
    studio,
    action,
    payload,
    previous,
  });
}

/** A proposal opened through gateway A. */
async function opened(id: string) {
  return a.governance.propose(
    studio,
    sign(operator, "propose", {
      proposal: grant(id),
      votingEndsAt: Math.floor(Date.now() / 1000) + 3000,
    }),
  );
}

const vote = (proposal: string, previous: Hex, choice: "for" | "against") =>
  sign(voter, "vote", { proposal, choice, reason: "simulated" }, previous);

/** The governance actions of a proposal in the log, and the log's size. */
async function logged(proposal: string) {
  const [r] = await h.engine.db.query<{ actions: number; size: number }>(
    `SELECT (SELECT count(*) FROM actions WHERE studio = $1 AND task = $2)::int AS actions,
            (SELECT size FROM logs LIMIT 1)::int AS size`,
    [studio, proposal],
  );
  return r as { actions: number; size: number };
}

describe("governance steps on two engines on one database", () => {
  it("two concurrent votes of one voter, one through each gateway: one vote, one action", async () => {
    const p = await opened("g1");
    const before = await logged("g1");
    const results = await Promise.allSettled([
      a.governance.vote(studio, vote("g1", p.actions.propose, "for")),
      b.governance.vote(studio, vote("g1", p.actions.propose, "against")),
    ]);
    const kept = expectOneAccepted(results, "STUDIO_VOTE_INVALID");
    const votes = await a.governance.votes(studio, "g1");
    expect(votes).toHaveLength(1);
    // The log holds the accepted vote only: no orphan action of the refused one.
    expect(await logged("g1")).toEqual({ actions: before.actions + 1, size: before.size + 1 });
    expect(votes[0]?.choice).toBe(kept === 0 ? "for" : "against");
  });

  it("a tally before the votes are in is refused; two concurrent tallies, one through each gateway: one tally", async () => {
    const p = await opened("g2");
    const tally = sign(
      operator,
      "tally",
      {
        proposal: "g2",
        for: 0,
        against: 0,
        abstain: 0,
        voters: 1,
        quorumMet: false,
        passed: false,
      },
      p.actions.propose,
    );
    // Voting is still open (one voter, no vote), so the tally is refused before any write.
    const early = await Promise.allSettled([b.governance.tally(studio, tally)]);
    expect(early.map(settledCode)).toEqual(["STUDIO_TRANSITION_INVALID"]);
    await a.governance.vote(studio, vote("g2", p.actions.propose, "for"));
    const expected = await b.governance.computeTally(studio, "g2");
    expect(expected).toMatchObject({ for: 1, voters: 1, passed: true });
    const viaA = sign(operator, "tally", { proposal: "g2", ...expected }, p.actions.propose);
    const viaB = sign(operator, "tally", { proposal: "g2", ...expected }, p.actions.propose);
    const before = await logged("g2");
    const results = await Promise.allSettled([
      a.governance.tally(studio, viaA),
      b.governance.tally(studio, viaB),
    ]);
    expectOneAccepted(results, "STUDIO_TRANSITION_INVALID");
    expect((await a.governance.getProposal(studio, "g2")).state).toBe("passed");
    expect(await logged("g2")).toEqual({ actions: before.actions + 1, size: before.size + 1 });
  });

  it("a crash inside the step's transaction, once its action is written, leaves nothing", async () => {
    const p = await opened("g3");
    await a.governance.vote(studio, vote("g3", p.actions.propose, "for"));
    const expected = await a.governance.computeTally(studio, "g3");
    const signed = sign(operator, "tally", { proposal: "g3", ...expected }, p.actions.propose);
    const before = await logged("g3");
    const agency = engineB.agency;
    const original = agency.recordInTransaction.bind(agency);
    agency.recordInTransaction = async (tx, items) => {
      await original(tx, items);
      throw new Error("simulated crash between the log write and the proposal update");
    };
    let error: unknown;
    try {
      await b.governance.tally(studio, signed);
    } catch (e) {
      error = e;
    } finally {
      agency.recordInTransaction = original;
    }
    const messages: string[] = [];
    for (
      let e = error as { message?: string; cause?: unknown } | undefined;
      e;
      e = e.cause as typeof e
    ) {
      messages.push(String(e.message));
    }
    expect(messages.join(" / ")).toContain("simulated crash");
    // nothing of the step is kept: no action, no leaf, the proposal still voting
    expect(await logged("g3")).toEqual(before);
    expect((await a.governance.getProposal(studio, "g3")).state).toBe("voting");
    // the same signed step, retried, goes through once
    const done = await a.governance.tally(studio, signed);
    expect(done.state).toBe("passed");
    expect(await logged("g3")).toEqual({ actions: before.actions + 1, size: before.size + 1 });
  });
});
