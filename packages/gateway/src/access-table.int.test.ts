/**
 * Issue 19 item 6: one place decides who may call a route (auth.ts
 * `authorize`, called by app.ts for every request), with a test per route and
 * role. Before, handlers refused agents ad hoc (members, budget) and
 * `simulate` let any registered agent run the sandbox in any studio.
 */

import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type G = Awaited<ReturnType<typeof openTestGateway>>;
let g: G;
let member: Awaited<ReturnType<G["newAgent"]>>;
let outsider: Awaited<ReturnType<G["newAgent"]>>;
let alphaKey: string;
let betaKey: string;

beforeAll(async () => {
  g = await openTestGateway();
  const operator = await g.newAgent(["studio.operate"]);
  member = await g.newAgent();
  outsider = await g.newAgent();
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
  const add = await g.app.inject({
    method: "POST",
    url: "/v1/studios/alpha/members",
    headers: { ...g.bearer(g.admin), "content-type": "application/json" },
    payload: JSON.stringify({ agent: member.address, roles: ["agent"] }),
  });
  expect(add.statusCode, add.body).toBe(201);
  alphaKey = g.bearer((await g.keys.create({ scopes: ["studio:alpha"] })).key).authorization;
  betaKey = g.bearer((await g.keys.create({ scopes: ["studio:beta"] })).key).authorization;
});
afterAll(async () => {
  await g?.close();
});

type Role =
  | "anonymous"
  | "outsider agent"
  | "member agent"
  | "studio:beta key"
  | "studio:alpha key"
  | "admin key";

/** Routes of studio alpha and what the access table answers each role (null: it lets the call through). */
const ROUTES: { method: "POST" | "DELETE"; url: string; access: "studio" | "studio-key" }[] = [
  { method: "POST", url: "/v1/studios/alpha/members", access: "studio-key" },
  { method: "DELETE", url: `/v1/studios/alpha/members/0x${"11".repeat(20)}`, access: "studio-key" },
  { method: "POST", url: "/v1/studios/alpha/budget", access: "studio-key" },
  { method: "POST", url: "/v1/studios/alpha/tasks/transitions", access: "studio" },
  { method: "POST", url: "/v1/studios/alpha/tasks/t-1/simulate", access: "studio" },
  { method: "POST", url: "/v1/studios/alpha/proposals", access: "studio" },
  { method: "POST", url: "/v1/studios/alpha/votes", access: "studio" },
  { method: "POST", url: "/v1/studios/alpha/tallies", access: "studio" },
  { method: "POST", url: "/v1/studios/alpha/executions", access: "studio" },
];

function expected(access: "studio" | "studio-key", role: Role): string | null {
  if (role === "anonymous") return "GATEWAY_UNAUTHENTICATED";
  if (role === "studio:beta key") return "GATEWAY_FORBIDDEN";
  if (role === "outsider agent")
    return access === "studio" ? "STUDIO_NOT_MEMBER" : "GATEWAY_FORBIDDEN";
  if (role === "member agent") return access === "studio" ? null : "GATEWAY_FORBIDDEN";
  return null;
}

const ROLES: Role[] = [
  "anonymous",
  "outsider agent",
  "member agent",
  "studio:beta key",
  "studio:alpha key",
  "admin key",
];

function headersOf(role: Role, method: string, url: string, body: string): Record<string, string> {
  const json: Record<string, string> = { "idempotency-key": `k-${method}-${url}-${role}` };
  if (body !== "") json["content-type"] = "application/json";
  switch (role) {
    case "anonymous":
      return json;
    case "outsider agent":
    case "member agent": {
      const agent = role === "member agent" ? member : outsider;
      return {
        ...json,
        ...(g.agentHeaders(agent.privateKey, method, url, body) as unknown as Record<
          string,
          string
        >),
      };
    }
    case "studio:beta key":
      return { ...json, authorization: betaKey };
    case "studio:alpha key":
      return { ...json, authorization: alphaKey };
    case "admin key":
      return { ...json, ...g.bearer(g.admin) };
  }
}

describe("the access table, per route and role", () => {
  for (const route of ROUTES) {
    it.each(ROLES)(`${route.method} ${route.url} as %s`, async (role) => {
      const body = route.method === "DELETE" ? "" : "{}";
      const before = await g.rows();
      const r = await g.app.inject({
        method: route.method,
        url: route.url,
        headers: headersOf(role, route.method, route.url, body),
        ...(body === "" ? {} : { payload: body }),
      });
      const want = expected(route.access, role);
      if (want === null) {
        // let through by the access table: whatever the route answers next, it is not 401/403 of auth
        expect(["GATEWAY_UNAUTHENTICATED", "GATEWAY_FORBIDDEN", "STUDIO_NOT_MEMBER"]).not.toContain(
          r.json()?.code,
        );
      } else {
        expect(r.json().code, r.body).toBe(want);
        expect(await g.rows()).toEqual(before);
      }
    });
  }
});

describe("a studio id that is not one", () => {
  // Found by the reliability fuzz: the access check asked Postgres about a studio id with a NUL
  // byte (Postgres refuses NUL in text) and the gateway answered 500 STORE_QUERY_FAILED.
  it.each(["a%00b", "A%20B", "x".repeat(65)])(
    "POST /v1/studios/%s/tallies as an agent: 400 from the route's validation, no database error",
    async (id) => {
      const url = `/v1/studios/${id}/tallies`;
      const before = await g.rows();
      const r = await g.app.inject({
        method: "POST",
        url,
        headers: headersOf("member agent", "POST", url, "{}"),
        payload: "{}",
      });
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json().code).not.toMatch(/^STORE_/);
      expect(await g.rows()).toEqual(before);
    },
  );
});
