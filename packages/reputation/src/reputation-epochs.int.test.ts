import { randomBytes } from "node:crypto";
import {
  bytesToHex,
  canonicalJsonBytes,
  isChaosCoreError,
  leafHash,
  rootFromLeafHashes,
  signOutcome,
} from "@chaoscore/core";
import { CHAIN_ID, openTestEngine, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Dimension, ReputationComputer, verifyScoreProof } from "./index.js";
import { type Agent, expectCode, type Harness } from "./test-support/reputation-fixture.js";

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
