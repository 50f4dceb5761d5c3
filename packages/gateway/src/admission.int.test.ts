/**
 * Issue 19 item 7: no Sybil or spam control — anyone could self-register, rate
 * limits were per principal only (a new agent or address per request escapes
 * them), and there was no trustProxy. Now: limits per client address and per
 * gateway, a trustProxy setting, and a registration policy.
 */
import { randomBytes } from "node:crypto";
import { privateKeyToAddress, signRegistration } from "@chaoscore/core";
import { CHAIN_ID, openTestGateway } from "@chaoscore/testkit/gateway";
import { describe, expect, it } from "vitest";
import { solveProofOfWork } from "./admission.js";

const card = (name: string) => ({
  format: "chaoscore.agent-card/v1" as const,
  name,
  description: "",
  capabilities: [],
  framework: "test",
  version: "1.0.0",
  endpoints: [],
  codeMeasurement: null,
  owner: null,
});

type G = Awaited<ReturnType<typeof openTestGateway>>;

/** An agent-signed self-registration of a fresh key, with optional extra headers. */
async function selfRegister(g: G, extra: (agent: string) => Record<string, string> = () => ({})) {
  const privateKey = Uint8Array.from(randomBytes(32));
  const agent = privateKeyToAddress(privateKey);
  const body = JSON.stringify(
    signRegistration({
      privateKey,
      chainId: CHAIN_ID,
      verifyingContract: g.engine.registry.domain.verifyingContract,
      card: card("self"),
    }),
  );
  return g.app.inject({
    method: "POST",
    url: "/v1/agents",
    headers: {
      "content-type": "application/json",
      ...(g.agentHeaders(privateKey, "POST", "/v1/agents", body) as unknown as Record<
        string,
        string
      >),
      ...extra(agent),
    },
    payload: body,
  });
}

describe("registration policy", () => {
  it("proof-of-work: refused without a proof (403, nothing stored), accepted with one", async () => {
    const g = await openTestGateway({ registration: { mode: "proof-of-work", difficulty: 8 } });
    try {
      const before = await g.rows();
      const r = await selfRegister(g);
      expect(r.statusCode, r.body).toBe(403);
      expect(r.json().code).toBe("GATEWAY_REGISTRATION_REFUSED");
      const wrong = await selfRegister(g, () => ({ "chaoscore-proof-of-work": "zz" }));
      expect(wrong.json().code).toBe("GATEWAY_REGISTRATION_REFUSED");
      expect(await g.rows()).toEqual(before);
      const ok = await selfRegister(g, (agent) => ({
        "chaoscore-proof-of-work": solveProofOfWork(agent, 8),
      }));
      expect(ok.statusCode, ok.body).toBe(201);
    } finally {
      await g.close();
    }
  });

  it("closed: agents cannot register themselves; an operator key still can", async () => {
    const g = await openTestGateway({ registration: { mode: "closed" } });
    try {
      const r = await selfRegister(g);
      expect(r.json().code).toBe("GATEWAY_REGISTRATION_REFUSED");
      expect((await g.newAgent()).address).toMatch(/^0x/); // the engine's own path
      const privateKey = Uint8Array.from(randomBytes(32));
      const byOperator = await g.app.inject({
        method: "POST",
        url: "/v1/agents",
        headers: { "content-type": "application/json", ...g.bearer(g.admin) },
        payload: JSON.stringify(
          signRegistration({
            privateKey,
            chainId: CHAIN_ID,
            verifyingContract: g.engine.registry.domain.verifyingContract,
            card: card("invited"),
          }),
        ),
      });
      expect(byOperator.statusCode, byOperator.body).toBe(201);
    } finally {
      await g.close();
    }
  });
});

describe("rate limits per address and per gateway", () => {
  it("a new identity per request does not escape the per-address limit; trustProxy picks the client from X-Forwarded-For", async () => {
    const g = await openTestGateway({ ipRateLimit: 3, trustProxy: true, rateLimit: false });
    try {
      const from = (ip: string) =>
        g.app.inject({ method: "GET", url: "/v1/agents", headers: { "x-forwarded-for": ip } });
      for (let i = 0; i < 3; i++) expect((await from("203.0.113.7")).statusCode).toBe(200);
      const limited = await from("203.0.113.7");
      expect(limited.statusCode).toBe(429);
      expect(limited.json().code).toBe("GATEWAY_RATE_LIMITED");
      expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
      // another client behind the same proxy has its own budget
      expect((await from("198.51.100.9")).statusCode).toBe(200);
    } finally {
      await g.close();
    }
  });

  it("the global limit caps the gateway whatever the addresses", async () => {
    const g = await openTestGateway({ globalRateLimit: 2, trustProxy: true, rateLimit: false });
    try {
      const codes: number[] = [];
      for (const ip of ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) {
        codes.push(
          (await g.app.inject({ method: "GET", url: "/v1", headers: { "x-forwarded-for": ip } }))
            .statusCode,
        );
      }
      expect(codes).toEqual([200, 200, 429]);
    } finally {
      await g.close();
    }
  });
});
