import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let g: Awaited<ReturnType<typeof openTestGateway>>;
beforeAll(async () => {
  g = await openTestGateway();
});
afterAll(() => g?.close());

describe("POST /v1/studios", () => {
  it("creates a generic studio without rules (the schema makes them optional)", async () => {
    const operator = await g.newAgent();
    const res = await g.app.inject({
      method: "POST",
      url: "/v1/studios",
      headers: { ...g.bearer(g.admin), "content-type": "application/json" },
      payload: {
        id: "no-rules",
        kind: "generic",
        name: "No rules",
        operator: operator.address,
        rewardPolicy: { kind: "fixed", budget: "10", amountPerSuccess: "1" },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().rules).toEqual({ attestationRequired: false });
  });
});
