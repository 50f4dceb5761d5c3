import { randomBytes } from "node:crypto";
import {
  type AgentCard,
  type Hex,
  privateKeyToAddress,
  signAction,
  signRegistration,
} from "@chaoscore/core";
import { CHAIN_ID, openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type G = Awaited<ReturnType<typeof openTestGateway>>;
let g: G;
let alice: Awaited<ReturnType<G["newAgent"]>>;
let bob: Awaited<ReturnType<G["newAgent"]>>;
let operator: Awaited<ReturnType<G["newAgent"]>>;
let alphaKey: string;

const json = (body: unknown) => ({
  "content-type": "application/json",
  payload: JSON.stringify(body),
});

beforeAll(async () => {
  g = await openTestGateway();
  alice = await g.newAgent();
  bob = await g.newAgent();
  operator = await g.newAgent(["studio.operate"]);
  for (const id of ["alpha", "beta"]) {
    const r = await g.app.inject({
      method: "POST",
      url: "/v1/studios",
      headers: { ...g.bearer(g.admin), "content-type": "application/json" },
      payload: JSON.stringify({
        id,
        kind: "generic",
        name: id,
        operator: operator.address,
        rules: { attestationRequired: false },
        rewardPolicy: { kind: "fixed", budget: "100", amountPerSuccess: "1" },
      }),
    });
    expect(r.statusCode, r.body).toBe(201);
  }
  alphaKey = (await g.keys.create({ scopes: ["studio:alpha"] })).key;
});
afterAll(async () => {
  await g?.close();
});

/** Sends a request and checks that a rejection changed no row anywhere. */
async function rejected(
  request: {
    method: "GET" | "POST" | "DELETE" | "PUT";
    url: string;
    headers?: Record<string, string>;
    payload?: string;
  },
  status: number,
  code: string,
) {
  const before = await g.rows();
  const r = await g.app.inject(request);
  expect(r.statusCode, r.body).toBe(status);
  expect(r.headers["content-type"]).toContain("application/problem+json");
  expect(r.json().code).toBe(code);
  expect(await g.rows()).toEqual(before);
  return r;
}

describe("operator API keys", () => {
  it("a key scoped to one studio cannot touch another, and can touch its own", async () => {
    const h = { ...g.bearer(alphaKey), "content-type": "application/json" };
    const member = JSON.stringify({ agent: alice.address, roles: ["agent"] });
    await rejected(
      { method: "POST", url: "/v1/studios/beta/members", headers: h, payload: member },
      403,
      "GATEWAY_FORBIDDEN",
    );
    const ok = await g.app.inject({
      method: "POST",
      url: "/v1/studios/alpha/members",
      headers: h,
      payload: member,
    });
    expect(ok.statusCode, ok.body).toBe(201);

    // actions: only entries of its studio
    const inBeta = alice.action({ studio: "beta" });
    await rejected(
      { method: "POST", url: "/v1/actions", headers: h, payload: JSON.stringify(inBeta) },
      403,
      "GATEWAY_FORBIDDEN",
    );
    const noStudio = signAction({
      privateKey: alice.privateKey,
      chainId: CHAIN_ID,
      actionType: "test.act",
      nonce: 1000,
    });
    await rejected(
      { method: "POST", url: "/v1/actions", headers: h, payload: JSON.stringify(noStudio) },
      403,
      "GATEWAY_FORBIDDEN",
    );
    const inAlpha = alice.action({ studio: "alpha" });
    const recorded = await g.app.inject({
      method: "POST",
      url: "/v1/actions",
      headers: h,
      payload: JSON.stringify(inAlpha),
    });
    expect(recorded.statusCode, recorded.body).toBe(201);

    // studio routes of another studio, and admin routes
    await rejected(
      {
        method: "POST",
        url: "/v1/studios/beta/tasks/transitions",
        headers: h,
        payload: JSON.stringify({ transition: "create", entry: {}, payload: {} }),
      },
      403,
      "GATEWAY_FORBIDDEN",
    );
    await rejected(
      {
        method: "POST",
        url: "/v1/api-keys",
        headers: h,
        payload: JSON.stringify({ scopes: ["admin"] }),
      },
      403,
      "GATEWAY_FORBIDDEN",
    );
  });

  it("a read-only key reads but does not write", async () => {
    const ro = (await g.keys.create({ scopes: ["read-only"] })).key;
    const read = await g.app.inject({ method: "GET", url: "/v1/agents", headers: g.bearer(ro) });
    expect(read.statusCode).toBe(200);
    await rejected(
      {
        method: "POST",
        url: "/v1/actions",
        headers: { ...g.bearer(ro), "content-type": "application/json" },
        payload: JSON.stringify(alice.action()),
      },
      403,
      "GATEWAY_FORBIDDEN",
    );
  });

  it("a revoked, unknown or malformed key is refused with 401", async () => {
    const k = await g.keys.create({ scopes: ["ingest"] });
    const del = await g.app.inject({
      method: "DELETE",
      url: `/v1/api-keys/${k.id}`,
      headers: g.bearer(g.admin),
    });
    expect(del.statusCode).toBe(204);
    const body = JSON.stringify(alice.action());
    const h = { "content-type": "application/json" };
    for (const authorization of [
      `Bearer ${k.key}`,
      `Bearer ${k.key.slice(0, -2)}xx`,
      "Bearer cck_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "Bearer nope",
    ]) {
      await rejected(
        { method: "POST", url: "/v1/actions", headers: { ...h, authorization }, payload: body },
        401,
        "GATEWAY_API_KEY_INVALID",
      );
    }
    await rejected(
      {
        method: "POST",
        url: "/v1/actions",
        headers: { ...h, authorization: "Basic x" },
        payload: body,
      },
      401,
      "GATEWAY_API_KEY_INVALID",
    );
    // the list shows it revoked, and never a secret
    const list = await g.app.inject({
      method: "GET",
      url: "/v1/api-keys",
      headers: g.bearer(g.admin),
    });
    const listed = list.json().items.find((i: { id: string }) => i.id === k.id);
    expect(listed.revokedAt).not.toBeNull();
    expect(list.body).not.toContain(k.key.slice(21));
  });

  it("an anonymous write is 401 with WWW-Authenticate", async () => {
    const r = await rejected(
      {
        method: "POST",
        url: "/v1/actions",
        ...json(alice.action()),
        headers: { "content-type": "application/json" },
      },
      401,
      "GATEWAY_UNAUTHENTICATED",
    );
    expect(r.headers["www-authenticate"]).toContain("Bearer");
  });
});

describe("agent-signed requests", () => {
  const post = (body: string, headers: Record<string, string>, url = "/v1/actions") => ({
    method: "POST" as const,
    url,
    headers: { "content-type": "application/json", ...headers },
    payload: body,
  });

  it("an agent records its own action", async () => {
    const body = JSON.stringify(alice.action({ payload: { q: "hello" } }));
    const r = await g.app.inject(
      post(body, g.agentHeaders(alice.privateKey, "POST", "/v1/actions", body)),
    );
    expect(r.statusCode, r.body).toBe(201);
    expect(r.json().kind).toBe("action");
  });

  it("an agent cannot write as another agent", async () => {
    const body = JSON.stringify(bob.action());
    await rejected(
      post(body, g.agentHeaders(alice.privateKey, "POST", "/v1/actions", body)),
      403,
      "GATEWAY_FORBIDDEN",
    );
  });

  it("a replayed request fails, even with a body that would be accepted", async () => {
    const body = JSON.stringify(alice.action());
    const headers = g.agentHeaders(alice.privateKey, "POST", "/v1/actions", body);
    expect((await g.app.inject(post(body, headers))).statusCode).toBe(201);
    await rejected(post(body, headers), 409, "GATEWAY_REQUEST_REPLAYED");
  });

  it("an expired request, or one valid too far ahead, fails", async () => {
    const body = JSON.stringify(alice.action());
    const now = Math.floor(Date.now() / 1000);
    await rejected(
      post(
        body,
        g.agentHeaders(alice.privateKey, "POST", "/v1/actions", body, { expiry: now - 1 }),
      ),
      401,
      "GATEWAY_REQUEST_EXPIRED",
    );
    await rejected(
      post(
        body,
        g.agentHeaders(alice.privateKey, "POST", "/v1/actions", body, { expiry: now + 3600 }),
      ),
      401,
      "GATEWAY_REQUEST_EXPIRED",
    );
  });

  it("a signature over another body, path or key, or missing headers, fails", async () => {
    const body = JSON.stringify(alice.action());
    const other = JSON.stringify(alice.action());
    const cases: Record<string, string>[] = [
      g.agentHeaders(alice.privateKey, "POST", "/v1/actions", other),
      g.agentHeaders(alice.privateKey, "POST", "/v1/outcomes", body),
      g.agentHeaders(alice.privateKey, "PUT", "/v1/actions", body),
      {
        ...g.agentHeaders(bob.privateKey, "POST", "/v1/actions", body),
        "chaoscore-agent": alice.address,
      },
      (() => {
        const { "chaoscore-nonce": _n, ...rest } = g.agentHeaders(
          alice.privateKey,
          "POST",
          "/v1/actions",
          body,
        );
        return rest;
      })(),
      {
        ...g.agentHeaders(alice.privateKey, "POST", "/v1/actions", body),
        "chaoscore-agent": alice.address.toUpperCase().replace("0X", "0x"),
      },
    ];
    for (const headers of cases) {
      await rejected(post(body, headers), 401, "GATEWAY_REQUEST_SIGNATURE_INVALID");
    }
  });

  it("a new agent registers itself, and only itself", async () => {
    const key = Uint8Array.from(randomBytes(32));
    const other = Uint8Array.from(randomBytes(32));
    const card = {
      format: "chaoscore.agent-card/v1" as const,
      name: "newcomer",
      description: "registers itself",
      capabilities: ["test"],
      framework: "test",
      version: "1.0.0",
      endpoints: [],
      codeMeasurement: null,
      owner: null,
    } satisfies AgentCard;
    const mine = JSON.stringify(signRegistration({ privateKey: key, chainId: CHAIN_ID, card }));
    const theirs = JSON.stringify(signRegistration({ privateKey: other, chainId: CHAIN_ID, card }));
    await rejected(
      post(theirs, g.agentHeaders(key, "POST", "/v1/agents", theirs), "/v1/agents"),
      403,
      "GATEWAY_FORBIDDEN",
    );
    const ok = await g.app.inject(
      post(mine, g.agentHeaders(key, "POST", "/v1/agents", mine), "/v1/agents"),
    );
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json().identity.id).toBe(privateKeyToAddress(key));
  });

  it("an unregistered agent's signature is refused", async () => {
    const stranger = Uint8Array.from(randomBytes(32));
    const body = JSON.stringify(
      signAction({ privateKey: stranger, chainId: CHAIN_ID, actionType: "x", nonce: 1 }),
    );
    await rejected(
      post(body, g.agentHeaders(stranger, "POST", "/v1/actions", body)),
      401,
      "GATEWAY_REQUEST_SIGNATURE_INVALID",
    );
  });

  it("an agent cannot call operator routes", async () => {
    const body = JSON.stringify({ scopes: ["admin"] });
    await rejected(
      post(body, g.agentHeaders(alice.privateKey, "POST", "/v1/api-keys", body), "/v1/api-keys"),
      403,
      "GATEWAY_FORBIDDEN",
    );
    const member = JSON.stringify({ agent: alice.address, roles: ["agent"] });
    await rejected(
      post(
        member,
        g.agentHeaders(alice.privateKey, "POST", "/v1/studios/alpha/members", member),
        "/v1/studios/alpha/members",
      ),
      403,
      "GATEWAY_FORBIDDEN",
    );
  });

  it("reads need no signature; the nonce of a signed read is still single-use", async () => {
    const url = `/v1/agents/${alice.address}`;
    const headers = g.agentHeaders(alice.privateKey, "GET", url);
    expect((await g.app.inject({ method: "GET", url, headers })).statusCode).toBe(200);
    const again = await g.app.inject({ method: "GET", url, headers });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe("GATEWAY_REQUEST_REPLAYED");
    expect((await g.app.inject({ method: "GET", url })).statusCode).toBe(200);
  });
});

describe("secrets are not logged", () => {
  it("the request log carries ids but no API key or signature", async () => {
    const body = JSON.stringify(alice.action());
    const headers = g.agentHeaders(alice.privateKey, "POST", "/v1/actions", body);
    await g.app.inject({
      method: "POST",
      url: "/v1/actions",
      headers: { ...headers, "content-type": "application/json" },
      payload: body,
    });
    await g.app.inject({ method: "GET", url: "/v1/agents", headers: g.bearer(g.admin) });
    const text = g.logLines.join("");
    expect(text).toContain("reqId");
    expect(text).not.toContain(g.admin);
    expect(text).not.toContain(g.admin.slice(21));
    expect(text).not.toContain(headers["chaoscore-signature"] as Hex);
  });
});
