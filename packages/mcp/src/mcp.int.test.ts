/**
 * The MCP server and the recording middleware, driven by the MCP SDK's own
 * client over both transports (Streamable HTTP in process, stdio as the real
 * `chaoscore mcp` process) against a real gateway on a real port.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import {
  bytesToHex,
  canonicalJsonBytes,
  generateWitnessKey,
  type Hex,
  parseTrustPolicy,
  privateKeyToAddress,
  type Receipt,
  sha256Hex,
  verifyReceipt,
} from "@chaoscore/core";
import { AgentRecorder, ChaosCoreClient } from "@chaoscore/sdk";
import { CHAIN_ID, openTestGateway } from "@chaoscore/testkit/gateway";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpHttpServer, serveMcpOverHttp } from "./http.js";
import { recordMcpToolCalls } from "./recording-client.js";

const BIN = fileURLToPath(new URL("../../cli/bin/chaoscore.js", import.meta.url));
const TOOL_SERVER = fileURLToPath(new URL("./test-support/tool-server.mjs", import.meta.url));
/** The MCP project's reference server, from npm. */
const EVERYTHING = fileURLToPath(
  import.meta.resolve("@modelcontextprotocol/server-everything/dist/index.js"),
);

type ToolAnswer = {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  content: { type: string; text?: string }[];
};

let g: Awaited<ReturnType<typeof openTestGateway>>;
let base: string;

beforeAll(async () => {
  // agents sign requests for the gateway's origin: the port is known only after listen
  g = await openTestGateway({ origins: () => [base] });
  base = await g.app.listen({ port: 0, host: "127.0.0.1" });
}, 60_000);
afterAll(async () => {
  await g?.close();
});

async function call(client: Client, name: string, args: Record<string, unknown>) {
  return (await client.callTool({ name, arguments: args })) as ToolAnswer;
}

function errorCode(answer: ToolAnswer): string {
  expect(answer.isError).toBe(true);
  return (JSON.parse(answer.content[0]?.text ?? "{}") as { code: string }).code;
}

async function actionsOf(agent: string) {
  return (await g.engine.agency.query({ agent, limit: 100 })).items;
}

async function parentsOf(id: Hex | undefined): Promise<readonly Hex[]> {
  return (await g.engine.agency.getReceipt(id as Hex)).action.entry.message.parents;
}

describe("chaoscore mcp over Streamable HTTP", () => {
  let server: McpHttpServer;
  let mcp: Client;
  let agent: Awaited<ReturnType<typeof g.newAgent>>;

  beforeAll(async () => {
    agent = await g.newAgent();
    const client = new ChaosCoreClient({ baseUrl: base, agentKey: agent.privateKey });
    server = await serveMcpOverHttp({
      client,
      agentKey: agent.privateKey,
      trustedLogKey: g.verifierKey,
    });
    mcp = new Client({ name: "test", version: "1" });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(server.url)));
  });
  afterAll(async () => {
    await mcp?.close();
    await server?.close();
  });

  it("lists its tools with JSON schemas and descriptions", async () => {
    const { tools } = await mcp.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      "claim_task",
      "get_agent",
      "get_receipt",
      "list_tasks",
      "record_action",
      "record_outcome",
      "verify_receipt",
    ]);
    for (const tool of tools) {
      expect(tool.description?.length).toBeGreaterThan(40);
      expect(tool.inputSchema.type).toBe("object");
    }
    const record = tools.find((t) => t.name === "record_action");
    expect(record?.inputSchema.required).toEqual(["type"]);
  });

  it("records an action signed by the agent, and its receipt verifies offline", async () => {
    const answer = await call(mcp, "record_action", {
      type: "tool.call",
      payload: { tool: "search", q: "hi" },
    });
    expect(answer.isError).toBeFalsy();
    const id = answer.structuredContent?.id as Hex;
    expect(id).toMatch(/^0x[0-9a-f]{64}$/);
    const [stored] = await actionsOf(agent.address);
    expect(stored?.id).toBe(id);

    const outcome = await call(mcp, "record_outcome", { action: id, status: "success" });
    expect(outcome.isError).toBeFalsy();

    const verified = await call(mcp, "verify_receipt", { action: id });
    expect(verified.structuredContent).toMatchObject({
      valid: true,
      actionId: id,
      agent: agent.address,
      trust: "pinned log key",
    });
    const got = await call(mcp, "get_receipt", { action: id });
    const receipt = got.structuredContent?.receipt as Receipt;
    expect(verifyReceipt(receipt, g.verifierKey).actionId).toBe(id);
    expect(receipt.payload).toEqual({ tool: "search", q: "hi" });
  });

  it("answers a tampered receipt with the verifier's code", async () => {
    const id = (await call(mcp, "record_action", { type: "note", payload: 1 })).structuredContent
      ?.id as Hex;
    const receipt = (await call(mcp, "get_receipt", { action: id })).structuredContent
      ?.receipt as Receipt;
    const tampered = { ...receipt, payload: 2 };
    expect(errorCode(await call(mcp, "verify_receipt", { receipt: tampered }))).toBe(
      "RECEIPT_PAYLOAD_MISMATCH",
    );
    expect(errorCode(await call(mcp, "verify_receipt", {}))).toBe("INVALID_INPUT");
  });

  it("looks up the agent with its latest actions", async () => {
    const answer = await call(mcp, "get_agent", {});
    const found = answer.structuredContent as {
      agent: { identity: { id: string } };
      actions: unknown[];
    };
    expect(found.agent.identity.id).toBe(agent.address);
    expect(found.actions.length).toBeGreaterThanOrEqual(2);
    expect(errorCode(await call(mcp, "get_agent", { agent: `0x${"ab".repeat(20)}` }))).toMatch(
      /AGENT_NOT_FOUND|REGISTRY_AGENT_NOT_FOUND|AGENT_UNKNOWN/,
    );
  });

  it("refuses bad input as a tool error and records nothing", async () => {
    const before = await g.snapshot();
    const bad = await call(mcp, "record_action", { type: "x", parents: ["not-an-id"] });
    expect(bad.isError).toBe(true);
    const unknownParent = await call(mcp, "record_action", {
      type: "x",
      parents: [`0x${"00".repeat(32)}`],
    });
    expect(errorCode(unknownParent)).toMatch(/PARENT/);
    const badOutcome = await call(mcp, "record_outcome", {
      action: `0x${"11".repeat(32)}`,
      status: "success",
    });
    expect(errorCode(badOutcome)).toMatch(/ACTION_NOT_FOUND/);
    expect(await g.snapshot()).toEqual(before);
    // the nonce sequence survived the refusals
    expect((await call(mcp, "record_action", { type: "after" })).isError).toBeFalsy();
  });

  it("answers studio tools on an unknown studio or task with the studio's codes, writing nothing", async () => {
    const before = await g.snapshot();
    const listed = await call(mcp, "list_tasks", { studio: "no-such-studio" });
    expect(listed.structuredContent).toEqual({ tasks: [], nextCursor: null });
    expect(
      errorCode(await call(mcp, "claim_task", { studio: "no-such-studio", task: "t-1" })),
    ).toMatch(/^(STUDIO_|GATEWAY_FEATURE_DISABLED)/);
    expect(await g.snapshot()).toEqual(before);
  });
});

describe("verify_receipt under a trust policy", () => {
  it("enforces the policy's witness quorum, not only its log key", async () => {
    const agent = await g.newAgent();
    const client = new ChaosCoreClient({ baseUrl: base, agentKey: agent.privateKey });
    const policy = parseTrustPolicy({
      format: "chaoscore.trust-policy/v1",
      log: { key: g.verifierKey },
      witnesses: { keys: [generateWitnessKey("witness.test/w1").verifierKey], quorum: 1 },
    });
    const server = await serveMcpOverHttp({ client, agentKey: agent.privateKey, policy });
    const mcp = new Client({ name: "policy-test", version: "1" });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    try {
      const id = (await call(mcp, "record_action", { type: "x" })).structuredContent?.id as Hex;
      // this log has no witnesses: the receipt lacks the policy's quorum
      expect(errorCode(await call(mcp, "verify_receipt", { action: id }))).toBe(
        "RECEIPT_WITNESS_QUORUM",
      );
    } finally {
      await mcp.close();
      await server.close();
    }
  });
});

describe("chaoscore mcp over stdio (the CLI process)", () => {
  it("records an action and verifies its receipt", async () => {
    const agent = await g.newAgent();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, "mcp", "--gateway", base, "--log-key", g.verifierKey],
      env: {
        ...(process.env as Record<string, string>),
        CHAOSCORE_AGENT_KEY: bytesToHex(agent.privateKey),
      },
      stderr: "pipe",
    });
    const mcp = new Client({ name: "stdio-test", version: "1" });
    await mcp.connect(transport);
    try {
      const id = (await call(mcp, "record_action", { type: "tool.call", payload: { a: 1 } }))
        .structuredContent?.id as Hex;
      expect((await actionsOf(agent.address)).map((a) => a.id)).toEqual([id]);
      const verified = await call(mcp, "verify_receipt", { action: id });
      expect(verified.structuredContent).toMatchObject({ valid: true, actionId: id });
    } finally {
      await mcp.close();
    }
  }, 60_000);
});

describe("recordMcpToolCalls", () => {
  async function toolClient(
    agentKey: Uint8Array,
    nextNonce: bigint | (() => Promise<bigint>),
    server = TOOL_SERVER,
  ) {
    const sink = new ChaosCoreClient({ baseUrl: base, agentKey });
    const recorder = new AgentRecorder({
      privateKey: agentKey,
      chainId: CHAIN_ID,
      sink,
      nextNonce,
      retries: 0,
    });
    const mcp = recordMcpToolCalls(new Client({ name: "agent", version: "1" }), recorder);
    await mcp.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: server === EVERYTHING ? [server, "stdio"] : [server],
        stderr: "pipe",
      }),
    );
    return { mcp, recorder };
  }
  /** Tool calls the server has served (asked without recording: the unwrapped method). */
  const served = async (mcp: Client) =>
    Number(
      ((await Client.prototype.callTool.call(mcp, { name: "calls" })) as ToolAnswer).content[0]
        ?.text,
    );

  it("records tool.call before the call and tool.result after it, linked", async () => {
    const agent = await g.newAgent();
    const { mcp } = await toolClient(agent.privateKey, 1n);
    try {
      const result = (await mcp.callTool({
        name: "echo",
        arguments: { text: "hello" },
      })) as ToolAnswer;
      expect(result.content[0]?.text).toBe("hello");
      const failed = (await mcp.callTool({ name: "fail" })) as ToolAnswer;
      expect(failed.isError).toBe(true);
      const actions = await actionsOf(agent.address);
      // calls (4 of them: echo, fail, and two `calls` probes would follow) in log order
      const types = actions.map((a) => a.actionType);
      expect(types.slice(0, 4)).toEqual(["tool.call", "tool.result", "tool.call", "tool.result"]);
      const [call0, result0, , result1] = actions;
      expect(await parentsOf(result0?.id)).toEqual([call0?.id]);
      const payload = (await g.engine.agency.getReceipt(call0?.id as Hex)).payload as Record<
        string,
        unknown
      >;
      expect(payload).toEqual({
        framework: "mcp",
        server: { name: "test-tools", version: "1.2.3" },
        tool: "echo",
        argumentsHash: sha256Hex(canonicalJsonBytes({ text: "hello" })),
      });
      const failedPayload = (await g.engine.agency.getReceipt(result1?.id as Hex))
        .payload as Record<string, unknown>;
      expect(failedPayload.isError).toBe(true);
    } finally {
      await mcp.close();
    }
  }, 60_000);

  it("does not make a call that the log refuses", async () => {
    const stranger = Uint8Array.from(randomBytes(32)); // not a registered agent
    const { mcp } = await toolClient(stranger, 1n);
    try {
      const before = await g.snapshot();
      await expect(mcp.callTool({ name: "echo", arguments: { text: "x" } })).rejects.toMatchObject({
        code: "GATEWAY_REQUEST_SIGNATURE_INVALID",
      }); // no such agent
      expect(await g.snapshot()).toEqual(before);
      expect(await actionsOf(privateKeyToAddress(stranger))).toEqual([]);
      expect(await served(mcp)).toBe(0);
    } finally {
      await mcp.close();
    }
  }, 60_000);

  it("refuses arguments that are not JSON before signing or sending anything", async () => {
    const agent = await g.newAgent();
    const { mcp } = await toolClient(agent.privateKey, 1n);
    try {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(
        mcp.callTool({ name: "echo", arguments: { text: "x", big: 1n as unknown as number } }),
      ).rejects.toMatchObject({ code: "MCP_ARGUMENTS_NOT_JSON" });
      await expect(mcp.callTool({ name: "echo", arguments: cyclic })).rejects.toMatchObject({
        code: "MCP_ARGUMENTS_NOT_JSON",
      });
      expect(await actionsOf(agent.address)).toEqual([]);
    } finally {
      await mcp.close();
    }
  }, 60_000);

  it("records a server that answers garbage as tool.error, and rethrows", async () => {
    const agent = await g.newAgent();
    const { mcp } = await toolClient(agent.privateKey, 1n);
    try {
      await expect(mcp.callTool({ name: "garbage" })).rejects.toThrow();
      const actions = await actionsOf(agent.address);
      expect(actions.map((a) => a.actionType)).toEqual(["tool.call", "tool.error"]);
      const error = (await g.engine.agency.getReceipt(actions[1]?.id as Hex)).payload as {
        error: { code: string };
      };
      expect(error.error.code).toBe("MCP_CALL_FAILED");
    } finally {
      await mcp.close();
    }
  }, 60_000);

  it("records a server that hangs as tool.error after the request timeout", async () => {
    const agent = await g.newAgent();
    const { mcp } = await toolClient(agent.privateKey, 1n);
    try {
      await expect(mcp.callTool({ name: "hang" }, undefined, { timeout: 300 })).rejects.toThrow();
      const actions = await actionsOf(agent.address);
      expect(actions.map((a) => a.actionType)).toEqual(["tool.call", "tool.error"]);
      expect(await parentsOf(actions[1]?.id)).toEqual([actions[0]?.id]);
      expect(await served(mcp)).toBe(1);
    } finally {
      await mcp.close();
    }
  }, 60_000);

  it("records the calls made to an MCP server from npm (server-everything)", async () => {
    const agent = await g.newAgent();
    const { mcp } = await toolClient(agent.privateKey, 1n, EVERYTHING);
    try {
      const result = (await mcp.callTool({
        name: "echo",
        arguments: { message: "from npm" },
      })) as ToolAnswer;
      expect(result.content[0]?.text).toContain("from npm");
      const actions = await actionsOf(agent.address);
      expect(actions.map((a) => a.actionType)).toEqual(["tool.call", "tool.result"]);
      const call = (await g.engine.agency.getReceipt(actions[0]?.id as Hex)).payload as {
        server: { name: string };
        tool: string;
      };
      expect(call.tool).toBe("echo");
      expect(call.server.name).toMatch(/everything/i);
    } finally {
      await mcp.close();
    }
  }, 60_000);
});
