/**
 * Bad input, per route, driven by the OpenAPI document: every operation gets
 * malformed JSON, wrong content types, bodies of the wrong shape, wrong types
 * in each field, extra fields, oversized bodies, bad path parameters and bad
 * query values. Each must be a 4xx problem+json with a known code, and no row
 * of any table may change.
 */
import { ERROR_CODES } from "@chaoscore/core";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type G = Awaited<ReturnType<typeof openTestGateway>>;
type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  anyOf?: Schema[];
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
};
type Operation = {
  parameters?: { in: string; name: string; required?: boolean; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
};

let g: G;
let spec: { paths: Record<string, Record<string, Operation>> };
let agent: string;

beforeAll(async () => {
  g = await openTestGateway();
  agent = (await g.newAgent()).address;
  spec = (await g.app.inject({ method: "GET", url: "/openapi.json" })).json();
});
afterAll(async () => {
  await g?.close();
});

/** A well-formed value of a path parameter, so that only the part under test is wrong. */
function goodParam(name: string): string {
  const values: Record<string, string> = {
    id: agent,
    agent,
    keyId: "0123456789abcdef",
    task: "t1",
    proposal: "p1",
    epoch: "1",
    dimension: "overall",
    "*": "0/000",
  };
  return values[name] ?? "x";
}

function wrongValue(s: Schema): unknown {
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case "string":
      return 12345;
    case "number":
    case "integer":
      return "not a number";
    case "boolean":
      return "yes";
    case "array":
      return { not: "an array" };
    case "object":
      return "not an object";
    default:
      return undefined;
  }
}

function operations(): { method: string; path: string; op: Operation }[] {
  const out: { method: string; path: string; op: Operation }[] = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods))
      out.push({ method: method.toUpperCase(), path, op });
  }
  return out;
}

const fill = (path: string, params: Record<string, string>) =>
  path.replace(/\{([^}]+)\}/g, (_m, name: string) => params[name] ?? goodParam(name));

describe("bad input on every route", () => {
  it("the OpenAPI document lists every route, with bodies and parameters", () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThanOrEqual(45);
    for (const path of [
      "/v1/actions",
      "/v1/agents",
      "/v1/studios/{id}/tasks/transitions",
      "/log/tile/{*}",
    ]) {
      expect(Object.keys(spec.paths)).toContain(path);
    }
  });

  it("answers 4xx problem+json with a known code, writes nothing, never 5xx", async () => {
    const headers = { ...g.bearer(g.admin) };
    let sent = 0;
    const failures: string[] = [];
    for (const { method, path, op } of operations()) {
      if (path.startsWith("/docs")) continue;
      const requests: {
        url: string;
        headers: Record<string, string>;
        payload?: string;
        why: string;
      }[] = [];
      const url = fill(path, {});
      const body = op.requestBody?.content["application/json"]?.schema;
      if (method !== "GET" && method !== "DELETE") {
        const j = { ...headers, "content-type": "application/json" };
        requests.push({ url, headers: j, payload: "{not json", why: "malformed JSON" });
        requests.push({ url, headers: j, payload: '"a string"', why: "a JSON string" });
        requests.push({ url, headers: j, payload: "[1,2]", why: "a JSON array" });
        requests.push({ url, headers: j, payload: "\xff\xfe", why: "invalid UTF-8" });
        requests.push({
          url,
          headers: { ...headers, "content-type": "text/plain" },
          payload: "x",
          why: "text/plain",
        });
        requests.push({
          url,
          headers: j,
          payload: JSON.stringify({ pad: "x".repeat(3 * 1024 * 1024) }),
          why: "3 MiB body",
        });
        if (body?.properties !== undefined) {
          if ((body.required ?? []).length > 0) {
            requests.push({ url, headers: j, payload: "{}", why: "empty object" });
          }
          for (const [name, prop] of Object.entries(body.properties)) {
            const bad = wrongValue(prop);
            if (bad === undefined) continue;
            requests.push({
              url,
              headers: j,
              payload: JSON.stringify({ [name]: bad }),
              why: `${name} of the wrong type`,
            });
          }
          requests.push({
            url,
            headers: j,
            payload: JSON.stringify({ unexpected: 1 }),
            why: "an unknown field",
          });
        }
      }
      for (const p of op.parameters ?? []) {
        if (p.in === "path") {
          for (const bad of ["ZZ", "%00", "x".repeat(300), "0x12"]) {
            if (p.name === "*" && bad === "ZZ") continue;
            requests.push({
              url: fill(path, { [p.name]: bad }),
              headers,
              why: `path ${p.name}=${bad.slice(0, 10)}`,
            });
          }
        }
        if (p.in === "query") {
          const base = fill(path, {});
          for (const bad of ["", "%zz", "-1", "x".repeat(300)]) {
            requests.push({
              url: `${base}?${p.name}=${bad}`,
              headers,
              why: `query ${p.name}=${bad.slice(0, 10)}`,
            });
          }
        }
      }
      if (!(op.parameters ?? []).some((p) => p.in === "query" && p.name === "unexpected")) {
        requests.push({ url: `${url}?unexpected=1`, headers, why: "an unknown query parameter" });
      }
      const before = await g.rows();
      for (const r of requests) {
        const res = await g.app.inject({
          method: method as "GET",
          url: r.url,
          headers: r.headers,
          ...(r.payload === undefined ? {} : { payload: r.payload }),
        });
        sent++;
        const where = `${method} ${path} (${r.why}) → ${res.statusCode} ${res.body.slice(0, 200)}`;
        if (res.statusCode >= 500) failures.push(`5xx: ${where}`);
        else if (res.statusCode < 400) {
          // a few reads ignore what they do not use (an unknown query parameter on a schema-less route)
          if (method !== "GET") failures.push(`accepted: ${where}`);
        } else {
          const problem = res.json() as { code?: string };
          if (!res.headers["content-type"]?.toString().includes("application/problem+json")) {
            failures.push(`not problem+json: ${where}`);
          }
          if (typeof problem.code !== "string" || !(problem.code in ERROR_CODES)) {
            failures.push(`unknown code: ${where}`);
          }
        }
      }
      const after = await g.rows();
      if (JSON.stringify(after) !== JSON.stringify(before)) {
        failures.push(
          `rows changed: ${method} ${path}: ${JSON.stringify(before)} → ${JSON.stringify(after)}`,
        );
      }
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(400);
  });
});
