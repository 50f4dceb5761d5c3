/**
 * The agent examples as a user runs them (tsx, a real gateway on a real port):
 * the MCP-using agent whose tool calls end up as verified receipts, and the
 * A2A card fetched and checked against the registry.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const TSX = fileURLToPath(new URL("../../../node_modules/tsx/dist/cli.mjs", import.meta.url));
const run = (script: string, ...args: string[]) =>
  promisify(execFile)(process.execPath, [TSX, script, ...args], { cwd: ROOT, timeout: 120_000 });

let g: Awaited<ReturnType<typeof openTestGateway>>;
let base = "";
beforeAll(async () => {
  g = await openTestGateway({ origins: () => [base] });
  base = await g.app.listen({ port: 0, host: "127.0.0.1" });
}, 60_000);
afterAll(() => g?.close());

describe("examples", () => {
  it("examples/mcp-agent: MCP tool calls become verified receipts; examples/a2a-card reads its card", async () => {
    const agent = await run("examples/mcp-agent/agent.ts", "--gateway", base);
    expect(agent.stdout).toMatch(/forecast: Berlin: 7 °C/);
    expect(agent.stdout.match(/verified: leaf/g)).toHaveLength(4);
    expect(agent.stdout.trim().endsWith("OK")).toBe(true);
    const id = /registered agent (0x[0-9a-f]{40})/.exec(agent.stdout)?.[1] as string;
    const card = await run("examples/a2a-card/fetch-card.ts", "--gateway", base, "--agent", id);
    expect(card.stdout).toMatch(/A2A card of MCP weather agent: 1 skills/);
    expect(card.stdout).toMatch(/\(as registered\)/);
    expect(card.stdout.trim().endsWith("OK")).toBe(true);
  }, 180_000);
});
