/**
 * Regenerates the routes table of docs/api.md from the gateway's OpenAPI
 * document (`npm run docs:api`; `--check` exits 1 when the file is stale).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { replaceRoutesTable, routesTable } from "../packages/gateway/src/api-docs.js";

const file = join(resolve(import.meta.dirname, ".."), "docs/api.md");
const g = await openTestGateway({ logger: false });
try {
  const doc = (await g.app.inject({ method: "GET", url: "/openapi.json" })).json();
  const before = readFileSync(file, "utf8");
  const after = replaceRoutesTable(before, routesTable(doc));
  if (process.argv.includes("--check")) {
    if (after !== before) {
      console.error("docs/api.md is stale: run npm run docs:api");
      process.exitCode = 1;
    }
  } else if (after !== before) {
    writeFileSync(file, after);
    console.log("docs/api.md: routes table regenerated");
  } else {
    console.log("docs/api.md: up to date");
  }
} finally {
  await g.close();
}
