/**
 * The MCP server over Streamable HTTP (one endpoint, `/mcp`): one MCP session
 * per client, all sessions writing through one {@link AgentWriter}.
 * @module
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { AgentWriter, createChaosCoreMcpServer, type McpServerOptions } from "./server.js";

/** A running Streamable HTTP MCP server. */
export type McpHttpServer = {
  /** e.g. `http://127.0.0.1:8788/mcp`. */
  url: string;
  close(): Promise<void>;
};

/** Largest request body accepted (bytes). */
const MAX_BODY = 2 * 1024 * 1024;

function reject(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new RangeError("request body too large");
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

/**
 * Serves the ChaosCore MCP server at `http://host:port/mcp` (Streamable
 * HTTP, with sessions). Binds to 127.0.0.1 by default: the server signs as
 * the agent for anyone who can reach it, so expose it only to the agent.
 */
export async function serveMcpOverHttp(
  options: McpServerOptions & { host?: string; port?: number },
): Promise<McpHttpServer> {
  const writer = options.writer ?? new AgentWriter(options.client, options.agentKey);
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http: Server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) reject(res, 500, -32603, (error as Error).message);
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== "/mcp") return reject(res, 404, -32601, "not found: the endpoint is /mcp");
    const sessionId = req.headers["mcp-session-id"];
    const existing = typeof sessionId === "string" ? sessions.get(sessionId) : undefined;
    if (req.method === "POST") {
      let body: unknown;
      try {
        body = await readJson(req);
      } catch (error) {
        return reject(res, 400, -32700, `parse error: ${(error as Error).message}`);
      }
      if (existing !== undefined) return existing.handleRequest(req, res, body);
      if (sessionId !== undefined) return reject(res, 404, -32001, "unknown session");
      if (!isInitializeRequest(body)) {
        return reject(res, 400, -32000, "no session: send initialize first");
      }
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, transport);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
      };
      await createChaosCoreMcpServer({ ...options, writer }).connect(transport);
      return transport.handleRequest(req, res, body);
    }
    if (req.method === "GET" || req.method === "DELETE") {
      if (existing === undefined) return reject(res, 404, -32001, "unknown session");
      return existing.handleRequest(req, res);
    }
    res.setHeader("allow", "GET, POST, DELETE");
    return reject(res, 405, -32000, "method not allowed");
  }

  await new Promise<void>((resolve, fail) => {
    http.once("error", fail);
    http.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = http.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/mcp`,
    async close() {
      for (const transport of sessions.values()) await transport.close();
      sessions.clear();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
