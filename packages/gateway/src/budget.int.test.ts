/**
 * `POST /v1/studios/{id}/budget` moves tokens on chain: it takes an
 * Idempotency-Key, so a retried request funds once (it minted and funded
 * again on every call before).
 */

import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type G = Awaited<ReturnType<typeof openTestGateway>>;
let g: G;
const funded: { studio: string; amount: bigint }[] = [];

beforeAll(async () => {
  g = await openTestGateway({
    treasury: {
      async fund(studio, amount) {
        funded.push({ studio, amount });
        const budget = funded.reduce((sum, f) => sum + f.amount, 0n);
        return { studioId: `0x${"ab".repeat(32)}`, budget, txHashes: [`0x${"cd".repeat(32)}`] };
      },
    },
  });
  const operator = await g.newAgent(["studio.operate"]);
  const r = await g.app.inject({
    method: "POST",
    url: "/v1/studios",
    headers: { ...g.bearer(g.admin), "content-type": "application/json" },
    payload: JSON.stringify({
      id: "funded",
      kind: "generic",
      name: "funded",
      operator: operator.address,
      rules: { attestationRequired: false },
      rewardPolicy: { kind: "fixed", budget: "100", amountPerSuccess: "1" },
    }),
  });
  expect(r.statusCode, r.body).toBe(201);
});
afterAll(async () => {
  await g?.close();
});

const fund = (amount: string, key?: string) =>
  g.app.inject({
    method: "POST",
    url: "/v1/studios/funded/budget",
    headers: {
      ...g.bearer(g.admin),
      "content-type": "application/json",
      ...(key === undefined ? {} : { "idempotency-key": key }),
    },
    payload: JSON.stringify({ amount }),
  });

describe("POST /v1/studios/{id}/budget", () => {
  it("without an Idempotency-Key is 400 GATEWAY_REQUEST_INVALID and funds nothing", async () => {
    const r = await fund("5");
    expect(r.statusCode, r.body).toBe(400);
    expect(r.json().code).toBe("GATEWAY_REQUEST_INVALID");
    expect(funded).toEqual([]);
  });

  it("a retry with the same key answers the first result and funds once; a new key funds again", async () => {
    const first = await fund("5", "fund-1");
    expect(first.statusCode, first.body).toBe(201);
    const retry = await fund("5", "fund-1");
    expect(retry.statusCode).toBe(201);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.json()).toEqual(first.json());
    expect(funded).toEqual([{ studio: "funded", amount: 5n }]);
    // The same key with another amount is refused, not run.
    expect((await fund("6", "fund-1")).json().code).toBe("GATEWAY_IDEMPOTENCY_KEY_REUSED");
    expect((await fund("6", "fund-2")).statusCode).toBe(201);
    expect(funded.map((f) => f.amount)).toEqual([5n, 6n]);
  });

  it("the OpenAPI document declares the header as required", async () => {
    const spec = (await g.app.inject({ method: "GET", url: "/openapi.json" })).json();
    const op = spec.paths["/v1/studios/{id}/budget"].post;
    const header = op.parameters.find(
      (p: { in: string; name: string }) => p.in === "header" && p.name === "idempotency-key",
    );
    expect(header).toMatchObject({ required: true });
  });
});
