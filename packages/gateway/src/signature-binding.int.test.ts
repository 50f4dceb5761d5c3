/**
 * Issue 19 item 2: signatures are bound to the deployment (EIP-712
 * `verifyingContract`) and agent-signed requests to the gateway's origin, so
 * neither replays on another deployment or gateway of the same chain.
 */
import { deploymentAddress, signAction, signRequest } from "@chaoscore/core";
import { CHAIN_ID, openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const GATEWAY_A = "https://a.gateway.example";
const GATEWAY_B = "https://b.gateway.example";

type G = Awaited<ReturnType<typeof openTestGateway>>;
let b: G;
let agent: Awaited<ReturnType<G["newAgent"]>>;

beforeAll(async () => {
  // Gateway B answers at GATEWAY_B only; its deployment is the engine's.
  b = await openTestGateway({ origins: [GATEWAY_B] });
  agent = await b.newAgent();
});
afterAll(async () => {
  await b?.close();
});

const post = (body: string, headers: Record<string, string>) => ({
  method: "POST" as const,
  url: "/v1/actions",
  headers: { "content-type": "application/json", ...headers },
  payload: body,
});

/** Sends a request, expects the problem `code`, and checks that no row changed. */
async function refused(request: ReturnType<typeof post>, status: number, code: string) {
  const before = await b.rows();
  const r = await b.app.inject(request);
  expect(r.statusCode, r.body).toBe(status);
  expect(r.json().code).toBe(code);
  expect(await b.rows()).toEqual(before);
}

function signFor(origin: string, body: string, verifyingContract?: `0x${string}`) {
  return signRequest({
    privateKey: agent.privateKey,
    chainId: CHAIN_ID,
    verifyingContract: verifyingContract ?? b.engine.registry.domain.verifyingContract,
    origin,
    method: "POST",
    path: "/v1/actions",
    body,
  }) as unknown as Record<string, string>;
}

describe("requests are bound to the gateway's origin", () => {
  it("B refuses a request signed for gateway A, and nothing is stored", async () => {
    const body = JSON.stringify(agent.action());
    await refused(post(body, signFor(GATEWAY_A, body)), 401, "GATEWAY_REQUEST_WRONG_ORIGIN");
  });

  it("B refuses a request signed for A whose ChaosCore-Origin header was changed to B", async () => {
    const body = JSON.stringify(agent.action());
    const headers = { ...signFor(GATEWAY_A, body), "chaoscore-origin": GATEWAY_B };
    await refused(post(body, headers), 401, "GATEWAY_REQUEST_SIGNATURE_INVALID");
  });

  it("B refuses a request without ChaosCore-Origin", async () => {
    const body = JSON.stringify(agent.action());
    const { "chaoscore-origin": _omit, ...headers } = signFor(GATEWAY_B, body);
    await refused(post(body, headers), 401, "GATEWAY_REQUEST_SIGNATURE_INVALID");
  });

  it("B accepts the request signed for B, and names its origins and deployment in GET /v1", async () => {
    const body = JSON.stringify(agent.action());
    const r = await b.app.inject(post(body, signFor(GATEWAY_B, body)));
    expect(r.statusCode, r.body).toBe(201);
    const info = (await b.app.inject({ method: "GET", url: "/v1" })).json();
    expect(info.origins).toEqual([GATEWAY_B]);
    expect(info.verifyingContract).toBe(b.engine.registry.domain.verifyingContract);
  });
});

describe("signatures are bound to the deployment", () => {
  const deploymentA = deploymentAddress("deployment A");

  it("B refuses a request signed for deployment A on the same chain", async () => {
    const body = JSON.stringify(agent.action());
    await refused(
      post(body, signFor(GATEWAY_B, body, deploymentA)),
      401,
      "GATEWAY_REQUEST_SIGNATURE_INVALID",
    );
  });

  it("B refuses an action signed for deployment A (AGENCY_WRONG_DEPLOYMENT), and nothing is stored", async () => {
    const signed = signAction({
      privateKey: agent.privateKey,
      chainId: CHAIN_ID,
      verifyingContract: deploymentA,
      actionType: "test.act",
      nonce: agent.nextNonce(),
    });
    const body = JSON.stringify(signed);
    await refused(post(body, b.bearer(b.admin)), 400, "AGENCY_WRONG_DEPLOYMENT");
    // The same entry with the deployment field rewritten no longer carries the agent's signature.
    const rewritten = JSON.stringify({
      ...signed,
      entry: { ...signed.entry, verifyingContract: b.engine.registry.domain.verifyingContract },
    });
    await refused(post(rewritten, b.bearer(b.admin)), 400, "AGENCY_BAD_SIGNATURE");
  });
});
