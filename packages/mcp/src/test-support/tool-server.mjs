// A small MCP tool server run as its own process by the recording tests:
// `echo` answers its arguments, `fail` answers a tool error, `calls` says how
// many tool calls it has served (so a test can tell that a call was not made).
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import * as z from "zod";

let served = 0;
const server = new McpServer({ name: "test-tools", version: "1.2.3" });
server.registerTool(
  "echo",
  { description: "answers its arguments", inputSchema: { text: z.string() } },
  async ({ text }) => {
    served++;
    return { content: [{ type: "text", text }] };
  },
);
server.registerTool("fail", { description: "always fails" }, async () => {
  served++;
  return { isError: true, content: [{ type: "text", text: "it failed" }] };
});
server.registerTool("hang", { description: "never answers" }, async () => {
  served++;
  return new Promise(() => {});
});
server.registerTool(
  "garbage",
  { description: "answers something that is not a tool result" },
  async () => {
    served++;
    return { content: "not a list of content blocks", isError: "maybe" };
  },
);
server.registerTool("calls", { description: "tool calls served so far" }, async () => ({
  content: [{ type: "text", text: String(served) }],
}));
await server.connect(new StdioServerTransport());
