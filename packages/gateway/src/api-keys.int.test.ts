/**
 * Revoking API keys: the last live admin key cannot be revoked (a stateful
 * API tester locked the operator out by revoking it), an unknown key is a 404.
 */
import { isChaosCoreError } from "@chaoscore/core";
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

const idOf = (key: string) => key.split("_")[1] as string;

const revoke = (id: string, key: string) =>
  g.app.inject({ method: "DELETE", url: `/v1/api-keys/${id}`, headers: g.bearer(key) });

describe("DELETE /v1/api-keys/{keyId}", () => {
  it("a key cannot revoke itself (409 GATEWAY_API_KEY_SELF_REVOKE, nothing written)", async () => {
    const before = await g.rows();
    const r = await revoke(idOf(g.admin), g.admin);
    expect(r.statusCode, r.body).toBe(409);
    expect(r.headers["content-type"]).toContain("application/problem+json");
    expect(r.json()).toMatchObject({ code: "GATEWAY_API_KEY_SELF_REVOKE", retryable: false });
    expect(await g.rows()).toEqual(before);
  });

  it("refuses to revoke the last live admin key (409 GATEWAY_LAST_ADMIN_KEY, nothing written); the key still works", async () => {
    const before = await g.rows();
    const error = await g.keys.revoke(idOf(g.admin)).catch((e: unknown) => e);
    expect(isChaosCoreError(error) && error.code).toBe("GATEWAY_LAST_ADMIN_KEY");
    expect(await g.rows()).toEqual(before);
    const list = await g.app.inject({
      method: "GET",
      url: "/v1/api-keys",
      headers: g.bearer(g.admin),
    });
    expect(list.statusCode).toBe(200);
  });

  it("revokes an admin key when another live one remains, then refuses the remaining one", async () => {
    const second = (await g.keys.create({ scopes: ["admin"], label: "second" })).key;
    // A key of another scope does not count as an admin key.
    await g.keys.create({ scopes: ["ingest"] });
    expect((await revoke(idOf(second), g.admin)).statusCode).toBe(204);
    const other = (await g.keys.create({ scopes: ["admin"] })).key;
    expect((await revoke(idOf(other), g.admin)).statusCode).toBe(204);
    // Over HTTP the last admin key can only be named by itself: the self-revocation check answers.
    const error = await g.keys.revoke(idOf(g.admin)).catch((e: unknown) => e);
    expect(isChaosCoreError(error) && error.code).toBe("GATEWAY_LAST_ADMIN_KEY");
  });

  it("of two concurrent revocations of the last two admin keys, exactly one passes", async () => {
    const a = await g.keys.create({ scopes: ["admin"] });
    const outcomes = await Promise.allSettled([g.keys.revoke(a.id), g.keys.revoke(idOf(g.admin))]);
    const codes = outcomes.map((o) =>
      o.status === "fulfilled"
        ? "ok"
        : isChaosCoreError(o.reason)
          ? o.reason.code
          : String(o.reason),
    );
    expect(codes.sort()).toEqual(["GATEWAY_LAST_ADMIN_KEY", "ok"]);
  });

  it("an unknown or already revoked key is 404 GATEWAY_API_KEY_NOT_FOUND (not a 401 about the caller's key)", async () => {
    const admin = (await g.keys.create({ scopes: ["admin"] })).key;
    const r = await revoke("0123456789abcdef", admin);
    expect(r.statusCode, r.body).toBe(404);
    expect(r.json().code).toBe("GATEWAY_API_KEY_NOT_FOUND");
  });
});
