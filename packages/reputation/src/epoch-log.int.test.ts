import { signOutcome, verifyReceipt } from "@chaoscore/core";
import { CHAIN_ID, openTestEngine, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logReputationEpoch, REPUTATION_EPOCH_ACTION_TYPE } from "./epoch-log.js";
import { ReputationComputer } from "./reputation.js";
import { verifyScoreProof } from "./score-proof.js";

describe(`reputation epochs in the log (${TEST_DB_KIND})`, () => {
  let h: Awaited<ReturnType<typeof openTestEngine>>;
  beforeAll(async () => {
    h = await openTestEngine();
  });
  afterAll(() => h.close());

  it("logs an epoch's root as a signed action; a score proof leads to the logged root", async () => {
    const operator = await h.newAgent(["studio.operate"]);
    const agent = await h.newAgent(["governance"]);
    const action = await h.engine.agency.recordAction(agent.action({ studio: "dao" }));
    const outcome = await h.engine.agency.recordOutcome(
      signOutcome({
        privateKey: operator.privateKey,
        chainId: CHAIN_ID,
        action: action.id,
        status: "success",
        nonce: operator.nextNonce(),
      }),
    );
    const reputation = new ReputationComputer({ db: h.db, preTrusted: [operator.address] });
    await reputation.applyOutcome({ id: outcome.id });
    const epoch = await reputation.runEpoch();
    const logged = await logReputationEpoch(
      h.engine.agency,
      { privateKey: operator.privateKey, nonce: operator.nextNonce() },
      epoch,
    );
    const receipt = await h.engine.agency.getReceipt(logged.id);
    expect(receipt.action.entry.message.actionType).toBe(REPUTATION_EPOCH_ACTION_TYPE);
    expect(verifyReceipt(receipt, h.verifierKey).actionId).toBe(logged.id);
    const payload = receipt.payload as { root: string; size: number; epoch: number };
    expect(payload).toMatchObject({ epoch: epoch.epoch, root: epoch.root, size: epoch.size });
    const proof = await reputation.proveScore(agent.address, "overall", epoch.epoch);
    const leaf = verifyScoreProof(proof, {
      root: payload.root as `0x${string}`,
      size: payload.size,
    });
    expect(leaf).toMatchObject({ agent: agent.address, dimension: "overall" });
  });
});
