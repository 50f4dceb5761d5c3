import {
  deploymentAddress,
  generatePrivateKey,
  isChaosCoreError,
  privateKeyToAddress,
  recoverAddress,
  sha256Hex,
  typedDataDigest,
} from "@chaoscore/core";
import { describe, expect, it } from "vitest";
import { ChaosCoreClient, paginate } from "./client.js";

type Call = { url: string; init: RequestInit };

const DEPLOYMENT = deploymentAddress("client test");

/** A fetch that answers from a script and records what it was sent. */
function scripted(answers: (Response | Error)[]) {
  const calls: Call[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const next = answers.shift();
    if (next === undefined) throw new Error("no more answers");
    if (next instanceof Error) throw next;
    return next;
  }) as unknown as typeof globalThis.fetch;
  return { fetch, calls };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
const problem = (status: number, code: string) =>
  json(status, {
    type: "x",
    title: code,
    status,
    code,
    detail: `${code}!`,
    instance: "/",
    requestId: "req-1",
    retryable: false,
  });
const headerOf = (c: Call | undefined, name: string) => new Headers(c?.init.headers).get(name);

describe("ChaosCoreClient", () => {
  const base = {
    baseUrl: "http://gw/",
    backoffMs: 1,
    chainId: 31337n,
    verifyingContract: DEPLOYMENT,
  };

  it("retries 503 and an in-use idempotency key with the same key, then returns the answer", async () => {
    const { fetch, calls } = scripted([
      problem(503, "STORE_UNAVAILABLE"),
      problem(409, "GATEWAY_IDEMPOTENCY_KEY_IN_USE"),
      json(201, { id: "0x01", kind: "action", leafIndex: 0, duplicate: false }),
    ]);
    const client = new ChaosCoreClient({ ...base, apiKey: "cck_k", fetch });
    const r = await client.createStudio({ id: "s" });
    expect(r).toMatchObject({ id: "0x01" });
    expect(calls.map((c) => c.url)).toEqual(Array(3).fill("http://gw/v1/studios"));
    const keys = calls.map((c) => headerOf(c, "idempotency-key"));
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(headerOf(calls[0], "authorization")).toBe("Bearer cck_k");
  });

  it("turns a problem into a ChaosCoreError with the code, status and request id", async () => {
    const { fetch } = scripted([problem(409, "AGENCY_NONCE_NOT_INCREASING")]);
    const client = new ChaosCoreClient({ ...base, fetch });
    const error = await client.getAction("0x00").catch((e: unknown) => e);
    expect(isChaosCoreError(error, "AGENCY_NONCE_NOT_INCREASING")).toBe(true);
    expect((error as { details: Record<string, unknown> }).details).toMatchObject({
      status: 409,
      requestId: "req-1",
    });
  });

  it("refuses an answer that is not JSON, or an error that is not a ChaosCore problem", async () => {
    const { fetch } = scripted([
      new Response("<html>bad gateway</html>", { status: 200 }),
      json(418, { message: "teapot" }),
    ]);
    const client = new ChaosCoreClient({ ...base, fetch, retries: 0 });
    for (let i = 0; i < 2; i++) {
      const e = await client.health().catch((x: unknown) => x);
      expect(isChaosCoreError(e, "SDK_RESPONSE_INVALID")).toBe(true);
    }
  });

  it("gives up on an unreachable gateway after its retries", async () => {
    const { fetch, calls } = scripted([
      new Error("ECONNREFUSED"),
      new Error("ECONNREFUSED"),
      new Error("ECONNREFUSED"),
    ]);
    const client = new ChaosCoreClient({ ...base, fetch, retries: 2 });
    const e = await client.health().catch((x: unknown) => x);
    expect(isChaosCoreError(e, "SDK_GATEWAY_UNREACHABLE")).toBe(true);
    expect(calls.length).toBe(3);
  });

  it("signs each write attempt as the agent with a fresh nonce; reads are not signed", async () => {
    const agentKey = generatePrivateKey();
    const { fetch, calls } = scripted([
      problem(503, "STORE_UNAVAILABLE"),
      json(201, { id: "0x02", kind: "action", leafIndex: 1, duplicate: false }),
      json(200, { status: "ok" }),
    ]);
    const client = new ChaosCoreClient({ ...base, agentKey, fetch });
    await client.recordAction({ entry: {} as never, payload: { a: 1 } });
    await client.health();
    const [first, second, read] = calls;
    expect(headerOf(first, "chaoscore-nonce")).not.toBe(headerOf(second, "chaoscore-nonce"));
    expect(headerOf(read, "chaoscore-signature")).toBeNull();
    // the signature is the agent's over the gateway's origin, method, path, body hash, nonce
    // and expiry, for the deployment the gateway names
    const body = new Uint8Array(second?.init.body as Uint8Array);
    expect(headerOf(second, "chaoscore-origin")).toBe("http://gw");
    const message = {
      agent: privateKeyToAddress(agentKey),
      origin: "http://gw",
      method: "POST",
      path: "/v1/actions",
      bodyHash: sha256Hex(body),
      nonce: headerOf(second, "chaoscore-nonce") as `0x${string}`,
      expiry: headerOf(second, "chaoscore-expiry") as string,
    };
    const signer = recoverAddress(
      typedDataDigest("Request", message, { chainId: 31337n, verifyingContract: DEPLOYMENT }),
      headerOf(second, "chaoscore-signature") as `0x${string}`,
    );
    expect(signer).toBe(privateKeyToAddress(agentKey));
  });

  it("paginate follows nextCursor to the end", async () => {
    const pages: Record<string, { items: number[]; nextCursor: string | null }> = {
      start: { items: [1, 2], nextCursor: "b" },
      b: { items: [3], nextCursor: "c" },
      c: { items: [], nextCursor: null },
    };
    const seen: number[] = [];
    for await (const n of paginate(async (cursor) => pages[cursor ?? "start"] as never))
      seen.push(n as number);
    expect(seen).toEqual([1, 2, 3]);
  });
});
