/**
 * An agent whose tools are on an MCP server: every tools/call it makes is
 * signed and recorded (tool.call before the request, tool.result after) by
 * the recording middleware, and the receipts are verified here, offline.
 *
 *   npx chaoscore serve --no-chain &        # LISTENING http://127.0.0.1:8787
 *   npx tsx examples/mcp-agent/agent.ts --gateway http://127.0.0.1:8787
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { recordMcpToolCalls } from "@chaoscore/mcp";
import { verifyReceipt } from "@chaoscore/sdk";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startRecordingAgent } from "../shared/agent.js";

const { values } = parseArgs({
  options: {
    gateway: { type: "string", default: process.env.CHAOSCORE_GATEWAY ?? "http://127.0.0.1:8787" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("usage: tsx examples/mcp-agent/agent.ts [--gateway URL]");
  process.exit(0);
}

// A fresh key (a real agent loads its own), registered, and its recorder (examples/shared/agent.ts).
const { id, client, recorder } = await startRecordingAgent(values.gateway, {
  name: "MCP weather agent",
  description: "Uses weather tools over MCP; every call is a signed action",
  capabilities: ["weather"],
  framework: "mcp",
});
const mcp = recordMcpToolCalls(new Client({ name: "weather-agent", version: "1.0.0" }), recorder);
await mcp.connect(
  new StdioClientTransport({
    command: process.execPath,
    args: [fileURLToPath(new URL("./tools-server.mjs", import.meta.url))],
  }),
);
const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]?.text ?? "";
const weather = JSON.parse(
  text(await mcp.callTool({ name: "weather", arguments: { city: "Berlin" } })),
);
const forecast = text(await mcp.callTool({ name: "forecast", arguments: weather }));
await mcp.close();
console.log(`forecast: ${forecast}`);

const { items } = await client.listActions({ agent: id });
const { log } = await client.info();
for (const action of items) {
  const v = verifyReceipt(await client.receipt(action.id), log.verifierKey);
  console.log(
    `${action.actionType.padEnd(11)} ${v.actionId.slice(0, 10)}… verified: leaf ${v.leafIndex} of ${v.treeSize}`,
  );
}
if (items.length !== 4) throw new Error(`expected 4 recorded steps, found ${items.length}`);
console.log("OK");
