/** docs/api.md's routes table is the OpenAPI document's (`npm run docs:api` regenerates it). */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_TABLE_BEGIN, API_TABLE_END, replaceRoutesTable, routesTable } from "./api-docs.js";

const FILE = join(resolve(import.meta.dirname, "../../.."), "docs/api.md");
let g: Awaited<ReturnType<typeof openTestGateway>>;
beforeAll(async () => {
  g = await openTestGateway();
});
afterAll(async () => {
  await g?.close();
});

describe("docs/api.md", () => {
  it("lists every operation of /openapi.json with its auth and summary (run npm run docs:api when this fails)", async () => {
    const doc = (await g.app.inject({ method: "GET", url: "/openapi.json" })).json();
    const markdown = readFileSync(FILE, "utf8");
    expect(markdown).toContain(API_TABLE_BEGIN);
    expect(markdown).toContain(API_TABLE_END);
    expect(replaceRoutesTable(markdown, routesTable(doc))).toBe(markdown);
  });

  it("routesTable names the auth of each operation", () => {
    const table = routesTable({
      paths: {
        "/a": { get: { summary: "read" } },
        "/b": { post: { summary: "write", security: [{ apiKey: [] }, { agentSignature: [] }] } },
        "/c": { delete: { summary: "admin | only", security: [{ apiKey: [] }] } },
      },
    });
    expect(table.split("\n").map((l) => l.replace(/ +/g, " "))).toEqual([
      "| method | path | auth | what |",
      "| ------ | ---- | ------------ | ------------- |",
      "| GET | `/a` | — | read |",
      "| POST | `/b` | agent or key | write |",
      "| DELETE | `/c` | operator key | admin \\| only |",
    ]);
  });
});
