/**
 * No drift between the clients and the document: every request the
 * TypeScript SDK (packages/sdk/src/client.ts) and the Python SDK
 * (python/src/chaoscore/client.py) make names an operation of
 * `/openapi.json` (method and path), with query parameters the operation
 * declares. A renamed route, or a client call to a route that does not exist,
 * fails here.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../..");
type Operation = { parameters?: { in: string; name: string }[] };
let g: Awaited<ReturnType<typeof openTestGateway>>;
let paths: Record<string, Record<string, Operation>>;

beforeAll(async () => {
  g = await openTestGateway();
  paths = (await g.app.inject({ method: "GET", url: "/openapi.json" })).json().paths;
});
afterAll(async () => {
  await g?.close();
});

type Call = { method: string; path: string; query: string[]; line: number };

/** Calls `request("METHOD", `path…`)` in TypeScript source; `${…}` segments are parameters. */
function typescriptCalls(source: string): Call[] {
  const calls: Call[] = [];
  const re = /\.request(?:<[^>]*>)?\(\s*"(GET|POST|PUT|DELETE)",\s*(`[^`]*`|"[^"]*")/g;
  for (const m of source.matchAll(re)) {
    const raw = (m[2] as string).slice(1, -1);
    const query: string[] = [];
    const qs = /\$\{queryString\(\{([^}]*)\}\)\}/.exec(raw);
    if (qs !== null) {
      for (const part of (qs[1] as string).split(",")) {
        const name = part.trim().split(":")[0]?.trim() ?? "";
        if (/^[A-Za-z]\w*$/.test(name)) query.push(name);
      }
    }
    // A conditional query string: `${cond ? "?name=value" : ""}`.
    for (const q of raw.matchAll(/\$\{[^}]*"\?(\w+)=[^}]*\}/g)) query.push(q[1] as string);
    const path = raw
      .replace(/\$\{queryString\([^)]*\)\}/g, "")
      .replace(/\$\{[^}]*"\?[^}]*\}/g, "")
      .replace(/\$\{[^}]+\}/g, "{}");
    calls.push({ method: m[1] as string, path, query, line: lineOf(source, m.index) });
  }
  return calls;
}

/** Calls `request("METHOD", "path")` / `f"path"` in Python source; `{…}` segments are parameters. */
function pythonCalls(source: string): Call[] {
  const calls: Call[] = [];
  const re = /\.request\(\s*"(GET|POST|PUT|DELETE)",\s*f?"([^"]*)"/g;
  for (const m of source.matchAll(re)) {
    const path = (m[2] as string).replace(/\{[^}]+\}/g, "{}");
    calls.push({ method: m[1] as string, path, query: [], line: lineOf(source, m.index) });
  }
  return calls;
}

const lineOf = (source: string, index: number) => source.slice(0, index).split("\n").length;

/** The operation a concrete call path names (`{}` for parameters), or undefined. */
function operationOf(call: Call): Operation | undefined {
  const segments = call.path.split("/");
  for (const [template, methods] of Object.entries(paths)) {
    const t = template.split("/");
    if (t.length !== segments.length) continue;
    const same = t.every((s, i) => (s.startsWith("{") ? segments[i] !== "" : s === segments[i]));
    if (same && methods[call.method.toLowerCase()] !== undefined)
      return methods[call.method.toLowerCase()];
  }
  return undefined;
}

function expectInDocument(file: string, calls: Call[]) {
  expect(calls.length, `${file}: no calls found (the pattern is stale?)`).toBeGreaterThan(5);
  for (const call of calls) {
    const where = `${file}:${call.line} ${call.method} ${call.path}`;
    const op = operationOf(call);
    expect(op, `${where} is not an operation of /openapi.json`).toBeDefined();
    const declared = (op?.parameters ?? []).filter((p) => p.in === "query").map((p) => p.name);
    for (const q of call.query) expect(declared, `${where} query ${q}`).toContain(q);
  }
}

describe("the SDKs call only what the OpenAPI document declares", () => {
  it("the TypeScript SDK (packages/sdk/src/client.ts)", () => {
    const file = "packages/sdk/src/client.ts";
    expectInDocument(file, typescriptCalls(readFileSync(join(ROOT, file), "utf8")));
  });

  it("the Python SDK (python/src/chaoscore/client.py)", () => {
    const file = "python/src/chaoscore/client.py";
    expectInDocument(file, pythonCalls(readFileSync(join(ROOT, file), "utf8")));
  });

  it("a call to a route the document does not have is caught", () => {
    const dollar = "$";
    const [call] = typescriptCalls(`this.request("GET", \`/v1/agentz/${dollar}{enc(id)}\`)`);
    expect(call && operationOf(call)).toBeUndefined();
    const [post] = pythonCalls('self.request("DELETE", f"/v1/actions/{quote(x)}")');
    expect(post && operationOf(post)).toBeUndefined();
  });
});
