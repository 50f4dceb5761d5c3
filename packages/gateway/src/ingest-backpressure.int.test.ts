import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type G = Awaited<ReturnType<typeof openTestGateway>>;
let g: G;
beforeAll(async () => {
  g = await openTestGateway();
});
afterAll(async () => {
  await g?.close();
});

describe("a full ingest queue", () => {
  it("answers 503 AGENCY_QUEUE_FULL with Retry-After, writes nothing, and accepts the retry", async () => {
    const agent = await g.newAgent();
    const signed = agent.action();
    const post = () =>
      g.app.inject({
        method: "POST",
        url: "/v1/actions",
        headers: { ...g.bearer(g.admin), "content-type": "application/json" },
        payload: JSON.stringify(signed),
      });
    const limits = g.engine.agency.limits;
    const before = await g.rows();
    // The queue's bound is read on every admission: a bound of 0 makes it full.
    limits.maxQueueEntries = 0;
    let refused: Awaited<ReturnType<typeof post>>;
    try {
      refused = await post();
    } finally {
      limits.maxQueueEntries = 20_000;
    }
    expect(refused.statusCode).toBe(503);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(refused.json()).toMatchObject({ code: "AGENCY_QUEUE_FULL", retryable: true });
    expect(await g.rows()).toEqual(before);
    const accepted = await post();
    expect(accepted.statusCode, accepted.body).toBe(201);
  });
});
