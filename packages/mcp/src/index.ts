/**
 * ChaosCore for the Model Context Protocol: an MCP server that records signed
 * actions and verifies receipts for any MCP client (`chaoscore mcp`), and a
 * middleware that records every tool call an MCP client makes.
 * @module
 */

export { type McpHttpServer, serveMcpOverHttp } from "./http.js";
export {
  type McpRecordingOptions,
  type McpToolCallPayload,
  recordMcpToolCalls,
} from "./recording-client.js";
export { createChaosCoreMcpServer, type McpServerOptions, toolError } from "./server.js";
