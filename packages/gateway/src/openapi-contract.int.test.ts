/**
 * The OpenAPI document is the contract: every operation declares its success
 * and error answers (problem+json, the codes it can return per status), a
 * route added without a schema fails here, and the gateway answers as the
 * document says (405 + Allow on known paths, 404 only for unknown ones, 414
 * and other framework errors as coded problems).
 */
import { ERROR_CODES, type ErrorCode } from "@chaoscore/core";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { areaOf } from "./openapi-contract.js";
import { statusOf } from "./problem.js";

type G = Awaited<ReturnType<typeof openTestGateway>>;
type Response = {
  description?: string;
  content?: Record<
    string,
    { schema: { allOf?: { properties?: { code?: { enum: string[] } } }[] } }
  >;
  links?: Record<string, { operationId: string; parameters: Record<string, string> }>;
};
type Operation = {
  operationId?: string;
  summary?: string;
  parameters?: { in: string; name: string; schema: unknown }[];
  requestBody?: unknown;
  responses: Record<string, Response>;
};
let g: G;
let spec: {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

beforeAll(async () => {
  g = await openTestGateway();
  spec = (await g.app.inject({ method: "GET", url: "/openapi.json" })).json();
});
afterAll(async () => {
  await g?.close();
});

const operations = () =>
  Object.entries(spec.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method, op })),
  );

/** The code enum the document declares for an operation and status. */
function declaredCodes(op: Operation, status: number): string[] {
  const schema = op.responses[String(status)]?.content?.["application/problem+json"]?.schema;
  return schema?.allOf?.[1]?.properties?.code?.enum ?? [];
}

describe("the OpenAPI document", () => {
  it("lists every route the gateway serves, each with an operation id, a summary and a success answer", () => {
    const listed = operations().map(({ path, method }) => `${method.toUpperCase()} ${path}`);
    for (const r of g.app.chaoscoreRoutes) {
      const path = r.url.replace(/:(\w+)/g, "{$1}").replace(/\*$/, "{*}");
      expect(listed).toContain(`${r.method} ${path}`);
    }
    const ids = new Set<string>();
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      expect(op.summary, where).toBeTruthy();
      expect(op.operationId, where).toMatch(/^[a-z][A-Za-z0-9]+$/);
      expect(ids.has(op.operationId as string), where).toBe(false);
      ids.add(op.operationId as string);
      const success = Object.keys(op.responses).filter((s) => Number(s) < 300);
      expect(success.length, where).toBeGreaterThan(0);
      // Every path template parameter is declared, with a schema.
      for (const name of path.match(/\{([^}]+)\}/g) ?? []) {
        const p = op.parameters?.find((q) => q.in === "path" && `{${q.name}}` === name);
        expect(p?.schema, `${where} ${name}`).toBeDefined();
      }
      // A route whose path no area covers has no list of the codes it can return.
      expect(areaOf(path), where).toBeDefined();
    }
  });

  it("declares every error answer as problem+json with the shared schema and the codes of that status", () => {
    expect(spec.components.schemas.ProblemDetails).toBeDefined();
    for (const { path, method, op } of operations()) {
      const errors = Object.entries(op.responses).filter(([s]) => Number(s) >= 400);
      expect(errors.length, `${method} ${path}`).toBeGreaterThan(0);
      for (const [status, response] of errors) {
        const where = `${method} ${path} ${status}`;
        expect(Object.keys(response.content ?? {}), where).toEqual(["application/problem+json"]);
        const codes = declaredCodes(op, Number(status));
        expect(codes.length, where).toBeGreaterThan(0);
        for (const code of codes) {
          expect(code in ERROR_CODES, `${where} ${code}`).toBe(true);
          expect(statusOf(code as ErrorCode), `${where} ${code}`).toBe(Number(status));
        }
      }
      // Every operation can be refused for its input and rate-limited.
      expect(declaredCodes(op, 400), `${method} ${path}`).toContain("GATEWAY_REQUEST_INVALID");
      expect(declaredCodes(op, 429), `${method} ${path}`).toContain("GATEWAY_RATE_LIMITED");
    }
  });

  it("declares success bodies: engine records, pages, and 204 alone where a route answers nothing", () => {
    const body = (path: string, method: string, status: string) =>
      (spec.paths[path]?.[method]?.responses[status]?.content?.["application/json"]?.schema ??
        {}) as { required?: string[]; properties?: Record<string, unknown> };
    expect(body("/v1/agents/{id}", "get", "200").required).toEqual(["identity", "metadata"]);
    expect(body("/v1/actions", "get", "200").required).toEqual(["items", "nextCursor"]);
    expect(body("/v1/log/checkpoint", "get", "200").required).toEqual(["size", "rootHash", "note"]);
    expect(
      Object.keys(spec.paths["/v1/agents"]?.post?.responses ?? {}).filter((s) => s < "300"),
    ).toEqual(["201"]);
    expect(
      Object.keys(spec.paths["/v1/api-keys/{keyId}"]?.delete?.responses ?? {}).filter(
        (s) => s < "300",
      ),
    ).toEqual(["204"]);
  });

  it("declares the media of the answers that are not JSON: a shard's checkpoint note and its tiles (schemathesis ST105)", () => {
    const media = (path: string) =>
      Object.keys(spec.paths[path]?.get?.responses["200"]?.content ?? {});
    expect(media("/v1/logs/{id}/checkpoint")).toEqual(["text/plain"]);
    expect(media("/v1/logs/{id}/tile/{*}")).toEqual(["application/octet-stream"]);
    expect(media("/log/tile/{*}")).toEqual(["application/octet-stream"]);
  });

  it("declares read-your-writes on every read (?minSize= and ChaosCore-Min-Size, which every GET accepts)", async () => {
    const gets = Object.entries(spec.paths).flatMap(([path, methods]) =>
      methods.get === undefined ? [] : [[path, methods.get] as const],
    );
    expect(gets.length).toBeGreaterThan(40);
    for (const [path, op] of gets) {
      const names = (op.parameters ?? []).map((p) => `${p.in} ${p.name}`);
      expect(names, path).toContain("query minSize");
      expect(names, path).toContain("header ChaosCore-Min-Size");
    }
    // as the document says: a tree size is accepted, anything else is a coded 400
    const ok = await g.app.inject({ method: "GET", url: "/v1/log/checkpoint?minSize=3" });
    expect(ok.statusCode).toBe(200);
    const bad = await g.app.inject({
      method: "GET",
      url: "/v1/log/checkpoint",
      headers: { "chaoscore-min-size": "-1" },
    });
    expect([bad.statusCode, bad.json().code]).toEqual([400, "GATEWAY_REQUEST_INVALID"]);
    // on every GET, the routes that never read the log included; an empty header too
    for (const url of [
      "/healthz",
      "/readyz",
      "/metrics",
      "/openapi.json",
      "/v1",
      "/log/checkpoint?minSize=0",
    ]) {
      const empty = await g.app.inject({
        method: "GET",
        url,
        headers: { "chaoscore-min-size": "" },
      });
      expect([url, empty.statusCode, empty.json().code]).toEqual([
        url,
        400,
        "GATEWAY_REQUEST_INVALID",
      ]);
    }
  });

  it("links answers to the requests they feed (agent → actions, action → receipt, checkpoint → proofs)", () => {
    const links = (path: string, method: string, status: string) =>
      spec.paths[path]?.[method]?.responses[status]?.links ?? {};
    expect(links("/v1/agents", "post", "201").getV1AgentsIdActions).toEqual({
      operationId: "getV1AgentsIdActions",
      parameters: { id: "$response.body#/identity/id" },
    });
    expect(links("/v1/actions", "post", "201").getV1ActionsIdReceipt?.operationId).toBe(
      "getV1ActionsIdReceipt",
    );
    expect(links("/v1/log/checkpoint", "get", "200").getV1LogProofsConsistency?.parameters).toEqual(
      {
        to: "$response.body#/size",
      },
    );
    // Every link names an operation of the document.
    const ids = new Set(operations().map(({ op }) => op.operationId));
    for (const { op } of operations())
      for (const r of Object.values(op.responses))
        for (const l of Object.values(r.links ?? {})) expect(ids.has(l.operationId)).toBe(true);
  });
});

describe("the gateway answers as the document says", () => {
  it("an undeclared method on a known path is 405 with Allow; an unknown path is 404", async () => {
    const trace = await g.app.inject({ method: "TRACE" as "GET", url: "/v1/log/checkpoint" });
    expect(trace.statusCode).toBe(405);
    expect(trace.headers.allow).toBe("GET, HEAD");
    expect(trace.headers["content-type"]).toContain("application/problem+json");
    expect(trace.json()).toMatchObject({
      code: "GATEWAY_METHOD_NOT_ALLOWED",
      details: { allowed: ["GET", "HEAD"] },
    });
    const del = await g.app.inject({ method: "DELETE", url: "/v1/actions" });
    expect([del.statusCode, del.headers.allow]).toEqual([405, "GET, HEAD, POST"]);
    // The most specific path decides: /v1/reputation/epochs is not /v1/reputation/{agent}.
    const epochs = await g.app.inject({ method: "GET", url: "/v1/reputation/epochs" });
    expect([epochs.statusCode, epochs.headers.allow]).toEqual([405, "POST"]);
    const unknown = await g.app.inject({ method: "GET", url: "/v1/nothing-here" });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe("GATEWAY_ROUTE_NOT_FOUND");
    // A body method without a body on an unknown path is still a 404, not a parser error.
    const query = await g.app.inject({ method: "QUERY" as "GET", url: "/v1/nothing-here" });
    expect(query.statusCode).toBe(404);
  });

  it("a path parameter over the router's limit is 414 GATEWAY_URI_TOO_LONG as problem+json (was FST_ERR_MAX_PARAM_LENGTH)", async () => {
    const r = await g.app.inject({ method: "GET", url: `/v1/agents/0x${"a".repeat(600)}` });
    expect(r.statusCode).toBe(414);
    expect(r.headers["content-type"]).toContain("application/problem+json");
    expect(r.json().code).toBe("GATEWAY_URI_TOO_LONG");
    expect(declaredCodes(spec.paths["/v1/agents/{id}"]?.get as Operation, 414)).toContain(
      "GATEWAY_URI_TOO_LONG",
    );
  });

  it("answers with codes the document declares for the operation and status", async () => {
    const cases: [method: "GET" | "POST" | "DELETE", url: string, path: string, body?: string][] = [
      ["GET", `/v1/agents/0x${"0".repeat(40)}`, "/v1/agents/{id}"],
      ["GET", "/v1/agents/nope", "/v1/agents/{id}"],
      ["GET", "/v1/actions?nope=1", "/v1/actions"],
      ["POST", "/v1/actions", "/v1/actions", "{not json"],
      ["POST", "/v1/actions", "/v1/actions", JSON.stringify({ entry: {} })],
      ["DELETE", "/v1/api-keys/0123456789abcdef", "/v1/api-keys/{keyId}"],
      ["GET", "/v1/studios/nope", "/v1/studios/{id}"],
      ["GET", "/v1/log/proofs/inclusion?index=5&size=1", "/v1/log/proofs/inclusion"],
    ];
    for (const [method, url, path, body] of cases) {
      const r = await g.app.inject({
        method,
        url,
        headers: {
          ...g.bearer(g.admin),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { payload: body }),
      });
      const op = spec.paths[path]?.[method.toLowerCase()] as Operation;
      expect(r.statusCode, `${method} ${url}`).toBeGreaterThanOrEqual(400);
      expect(declaredCodes(op, r.statusCode), `${method} ${url} ${r.body}`).toContain(
        r.json().code,
      );
    }
  });
});
