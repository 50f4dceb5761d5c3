// An MCP tool server the example agent talks to over stdio (any MCP server
// works the same way): `weather` and `forecast`.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import * as z from "zod";

const server = new McpServer({ name: "weather-tools", version: "1.0.0" });
server.registerTool(
  "weather",
  { description: "current weather in a city", inputSchema: { city: z.string() } },
  async ({ city }) => ({ content: [{ type: "text", text: JSON.stringify({ city, celsius: 7 }) }] }),
);
server.registerTool(
  "forecast",
  { description: "a one-line forecast", inputSchema: { city: z.string(), celsius: z.number() } },
  async ({ city, celsius }) => ({ content: [{ type: "text", text: `${city}: ${celsius} °C` }] }),
);
await server.connect(new StdioServerTransport());
