/**
 * Issue 19 item 5: receipts and their payloads were world-readable, and the
 * `read-only` scope granted nothing an anonymous caller lacked. Now entries,
 * proofs and checkpoints stay public (verification needs them) and payloads
 * (tool inputs and outputs) go only to the action's agent or a key scoped
 * admin, read (read-only) or studio:<the action's studio>.
 */
import { verifyReceipt } from "@chaoscore/core";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type G = Awaited<ReturnType<typeof openTestGateway>>;
let g: G;
let owner: Awaited<ReturnType<G["newAgent"]>>;
let other: Awaited<ReturnType<G["newAgent"]>>;
let plain: string; // an action outside studios
let inAlpha: string; // an action of studio alpha
const PAYLOAD = { tool: "search", input: "a private question" };

beforeAll(async () => {
  g = await openTestGateway();
  owner = await g.newAgent();
  other = await g.newAgent();
  const operator = await g.newAgent(["studio.operate"]);
  const created = await g.app.inject({
    method: "POST",
    url: "/v1/studios",
    headers: { ...g.bearer(g.admin), "content-type": "application/json" },
    payload: JSON.stringify({
      id: "alpha",
      kind: "generic",
      name: "alpha",
      operator: operator.address,
      rules: { attestationRequired: false },
      rewardPolicy: { kind: "fixed", budget: "100", amountPerSuccess: "1" },
    }),
  });
  expect(created.statusCode, created.body).toBe(201);
  plain = (await g.engine.agency.recordAction(owner.action({ payload: PAYLOAD }))).id;
  inAlpha = (
    await g.engine.agency.recordAction(owner.action({ studio: "alpha", payload: PAYLOAD }))
  ).id;
});
afterAll(async () => {
  await g?.close();
});

async function get(id: string, headers: Record<string, string>, query = "") {
  const url = `/v1/actions/${id}/receipt${query}`;
  return g.app.inject({ method: "GET", url, headers });
}
const signed = (agent: typeof owner, id: string, query = "") =>
  g.agentHeaders(agent.privateKey, "GET", `/v1/actions/${id}/receipt${query}`) as unknown as Record<
    string,
    string
  >;
const key = async (scope: string) => g.bearer((await g.keys.create({ scopes: [scope] })).key);

describe("who reads a payload", () => {
  it("anonymous: the receipt verifies without its payload; asking for it is 401", async () => {
    const r = await get(plain, {});
    expect(r.statusCode).toBe(200);
    expect(r.json().payload).toBeUndefined();
    expect(verifyReceipt(r.json(), g.engine.log.verifierKey).actionId).toBe(plain);
    const asked = await get(plain, {}, "?payload=true");
    expect(asked.statusCode).toBe(401);
    expect(asked.json().code).toBe("GATEWAY_UNAUTHENTICATED");
  });

  it("the action's agent (a signed read) gets it; another agent does not (403 when asked)", async () => {
    expect((await get(plain, signed(owner, plain))).json().payload).toEqual(PAYLOAD);
    expect((await get(plain, signed(other, plain))).json().payload).toBeUndefined();
    const asked = await get(plain, signed(other, plain, "?payload=true"), "?payload=true");
    expect(asked.statusCode).toBe(403);
    expect(asked.json().code).toBe("GATEWAY_FORBIDDEN");
  });

  it.each([
    ["admin", true, true],
    ["read", true, true],
    ["read-only", true, true],
    ["ingest", false, false],
    ["studio:alpha", false, true],
    ["studio:beta", false, false],
  ])("a key scoped %s: outside studios %s, in studio alpha %s", async (scope, plainOk, alphaOk) => {
    const h = await key(scope);
    expect((await get(plain, h)).json().payload).toEqual(plainOk ? PAYLOAD : undefined);
    expect((await get(inAlpha, h)).json().payload).toEqual(alphaOk ? PAYLOAD : undefined);
  });

  it("payload=false leaves it out for everyone", async () => {
    expect((await get(plain, g.bearer(g.admin), "?payload=false")).json().payload).toBeUndefined();
  });
});
