/**
 * Issue 19 item 12: nonces may not jump without limit. Before, one entry with
 * nonce 2^64 − 1 was accepted and the agent could never record again (every
 * later nonce is "not increasing"), and a key rotation did not reset it.
 */
import { isChaosCoreError } from "@chaoscore/core";
import { openTestEngine, snapshot } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_NONCE_GAP } from "./entry-checks.js";

type H = Awaited<ReturnType<typeof openTestEngine>>;
let h: H;
beforeAll(async () => {
  h = await openTestEngine();
});
afterAll(() => h.close());

async function refused(code: string, fn: () => Promise<unknown>) {
  const before = await snapshot(h.engine);
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  expect(isChaosCoreError(error) ? error.code : String(error)).toBe(code);
  expect(await snapshot(h.engine)).toEqual(before);
  return error;
}

describe("the nonce gap is bounded", () => {
  it("refuses nonce 2^64 − 1 (AGENCY_NONCE_GAP_TOO_LARGE), stores nothing, and the agent goes on", async () => {
    const agent = await h.newAgent();
    await h.engine.agency.recordAction(agent.action({ nonce: 1 }));
    const error = await refused("AGENCY_NONCE_GAP_TOO_LARGE", () =>
      h.engine.agency.recordAction(agent.action({ nonce: 2n ** 64n - 1n })),
    );
    expect(isChaosCoreError(error) && error.details).toEqual({
      nonce: (2n ** 64n - 1n).toString(),
      last: "1",
      maxGap: MAX_NONCE_GAP.toString(),
    });
    // the agent is not stuck
    expect((await h.engine.agency.recordAction(agent.action({ nonce: 2 }))).kind).toBe("action");
  });

  it("accepts a jump of exactly the bound, refuses one more, from the first nonce too", async () => {
    const agent = await h.newAgent();
    await refused("AGENCY_NONCE_GAP_TOO_LARGE", () =>
      h.engine.agency.recordAction(agent.action({ nonce: MAX_NONCE_GAP + 1n })),
    );
    await h.engine.agency.recordAction(agent.action({ nonce: MAX_NONCE_GAP }));
    await refused("AGENCY_NONCE_GAP_TOO_LARGE", () =>
      h.engine.agency.recordAction(agent.action({ nonce: 2n * MAX_NONCE_GAP + 1n })),
    );
    await h.engine.agency.recordAction(agent.action({ nonce: 2n * MAX_NONCE_GAP }));
  });
});
