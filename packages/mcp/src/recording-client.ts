/**
 * Recording middleware for an MCP client: every `tools/call` the agent makes
 * is signed and recorded as `tool.call` before the request goes out, and its
 * answer as `tool.result` (or `tool.error`) with the call as parent. A call
 * the log refuses is not made.
 * @module
 */
import { ChaosCoreError, canonicalJsonBytes, type Hex, sha256Hex } from "@chaoscore/core";
import type { AgentRecorder } from "@chaoscore/sdk";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";

/** The payload of a recorded MCP tool call (`tool.call`). */
export type McpToolCallPayload = {
  framework: "mcp";
  /** The MCP server's name and version, as it announced them at initialisation. */
  server: { name: string; version: string } | null;
  tool: string;
  /** SHA-256 of the arguments' canonical JSON (RFC 8785). */
  argumentsHash: Hex;
  /** The arguments themselves, only with `includeContent`. */
  arguments?: unknown;
};

/** Options of {@link recordMcpToolCalls}. */
export type McpRecordingOptions = {
  /** Also record the arguments and results themselves, not only their hashes. Default false. */
  includeContent?: boolean;
  /** Studio and task of the recorded actions. */
  studio?: string;
  task?: string;
};

function hashJson(value: unknown, what: string): Hex {
  try {
    return sha256Hex(canonicalJsonBytes(value));
  } catch (cause) {
    throw new ChaosCoreError(
      "MCP_ARGUMENTS_NOT_JSON",
      `the ${what} of the tool call are not JSON-serialisable`,
      { cause },
    );
  }
}

/**
 * Wraps `client.callTool` so that every tool call is recorded. Returns the
 * same client. The `tool.call` entry is recorded (awaited) before the request
 * is sent: when the log refuses it, `callTool` rejects with the log's code
 * and the tool is not called. Arguments that are not JSON fail with
 * `MCP_ARGUMENTS_NOT_JSON` before anything is signed or sent. The answer
 * (or the failure: a server error, garbage, a timeout) is then recorded as
 * `tool.result` `{ framework, tool, resultHash, isError }` or `tool.error`
 * `{ framework, tool, error }`, child of the call.
 *
 * @example
 * ```ts
 * const mcp = recordMcpToolCalls(new Client({ name: "agent", version: "1" }), recorder);
 * await mcp.connect(transport);
 * await mcp.callTool({ name: "search", arguments: { q: "hi" } }); // recorded, then called
 * ```
 */
export function recordMcpToolCalls<C extends Client>(
  client: C,
  recorder: AgentRecorder,
  options: McpRecordingOptions = {},
): C {
  const original = client.callTool.bind(client);
  const where = {
    ...(options.studio === undefined ? {} : { studio: options.studio }),
    ...(options.task === undefined ? {} : { task: options.task }),
  };
  const callTool: Client["callTool"] = async (params, resultSchema, requestOptions) => {
    const args = params.arguments ?? {};
    const argumentsHash = hashJson(args, "arguments");
    const server = client.getServerVersion();
    const payload: McpToolCallPayload = {
      framework: "mcp",
      server: server === undefined ? null : { name: server.name, version: server.version },
      tool: params.name,
      argumentsHash,
      ...(options.includeContent ? { arguments: args } : {}),
    };
    const call = await recorder.record("tool.call", payload, where);
    let result: Awaited<ReturnType<Client["callTool"]>>;
    try {
      result = await original(params, resultSchema, requestOptions);
    } catch (error) {
      await recorder.record(
        "tool.error",
        {
          framework: "mcp",
          tool: params.name,
          error: {
            code: error instanceof ChaosCoreError ? error.code : "MCP_CALL_FAILED",
            message: error instanceof Error ? error.message : String(error),
          },
        },
        { ...where, parents: [call.id] },
      );
      throw error;
    }
    await recorder.record(
      "tool.result",
      {
        framework: "mcp",
        tool: params.name,
        resultHash: hashJson(result, "result"),
        isError: result.isError === true,
        ...(options.includeContent ? { result } : {}),
      },
      { ...where, parents: [call.id] },
    );
    return result;
  };
  client.callTool = callTool;
  return client;
}
