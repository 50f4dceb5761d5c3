/**
 * `chaoscore mcp`: ChaosCore as a Model Context Protocol server. An MCP
 * client (an agent, an IDE, a model host) records signed actions and
 * outcomes for the configured agent, fetches and verifies receipts, looks up
 * agents, and lists and claims studio tasks. Entries are signed here, in this
 * process, with the agent's key; the key never travels, not even to the
 * gateway.
 * @module
 */
import {
  type Address,
  ChaosCoreError,
  type Hex,
  isChaosCoreError,
  privateKeyToAddress,
  signStudioTransition,
  type TrustPolicy,
  verifyReceipt,
  verifyReceiptWithPolicy,
} from "@chaoscore/core";
import { AgentRecorder, type ChaosCoreClient } from "@chaoscore/sdk";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import * as z from "zod";

/** Options of {@link createChaosCoreMcpServer}. */
export type McpServerOptions = {
  /** A client of the gateway the entries go to (reads are public; writes are signed by `agentKey`). */
  client: ChaosCoreClient;
  /** The agent's secp256k1 key: it signs every entry locally. */
  agentKey: Uint8Array;
  /**
   * The log verifier key receipts are checked against. Without it, the
   * gateway's own key (`GET /v1`) is used and every verification says so:
   * pin a key to verify without trusting the gateway.
   */
  trustedLogKey?: string;
  /**
   * A trust policy (`chaoscore.trust-policy/v1`): receipts must verify under
   * its log key, with its witness quorum and, when it names anchors, an
   * anchor in one of its contracts. Wins over `trustedLogKey`.
   */
  policy?: TrustPolicy;
  /**
   * The agent's writer (its nonce sequence). Servers that share one (one per
   * HTTP session) sign in one order; default: a writer of its own.
   */
  writer?: AgentWriter;
  /** Name and version the server announces. */
  name?: string;
  version?: string;
};

const ID = z
  .string()
  .regex(/^0x[0-9a-f]{64}$/, "a 0x-prefixed 32-byte lowercase hex id")
  .describe("an action id: 0x followed by 64 lowercase hex digits");
const ADDRESS = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "an agent address")
  .describe("an agent id (its 0x address)");

/**
 * The one writer of an agent's nonce sequence: entries are signed and sent
 * one at a time, by one recorder, whichever MCP session asked for them.
 */
export class AgentWriter {
  #queue: Promise<unknown> = Promise.resolve();
  #recorder: AgentRecorder | undefined;
  readonly agent: Address;

  constructor(
    private readonly client: ChaosCoreClient,
    private readonly agentKey: Uint8Array,
  ) {
    this.agent = privateKeyToAddress(agentKey);
  }

  /** Runs `run` after every write queued before it. */
  serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** The recorder (made on first use; its nonce comes from the gateway). */
  async recorder(): Promise<AgentRecorder> {
    this.#recorder ??= new AgentRecorder({
      privateKey: this.agentKey,
      ...(await this.client.domain()), // the chain and deployment every signature is bound to
      sink: this.client,
      nextNonce: () => this.client.nextNonce(this.agent),
      retries: 2,
    });
    return this.#recorder;
  }

  /** Waits for the recorder's entries and forgets it (before signing outside it). */
  async dropRecorder(): Promise<void> {
    if (this.#recorder !== undefined) await this.#recorder.flush();
    this.#recorder = undefined;
  }
}

/** A tool result carrying a JSON value, as text and as structured content. */
function ok(value: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: "text", text: JSON.stringify(value, bigintJson, 2) }],
    structuredContent: JSON.parse(JSON.stringify(value, bigintJson)) as Record<string, unknown>,
  };
}

/**
 * A tool error: `isError` with our code, so an MCP client (and the model
 * behind it) sees why, e.g. `{"code":"AGENCY_PARENT_NOT_FOUND", …}`.
 */
export function toolError(error: unknown): CallToolResult {
  const problem = isChaosCoreError(error)
    ? { code: error.code, message: error.message }
    : { code: "MCP_TOOL_FAILED", message: error instanceof Error ? error.message : String(error) };
  return {
    isError: true,
    content: [{ type: "text", text: JSON.stringify(problem) }],
    structuredContent: { error: problem },
  };
}

function bigintJson(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

async function guarded(run: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await run();
  } catch (error) {
    return toolError(error);
  }
}

/**
 * Builds the MCP server (no transport yet: connect it to a
 * `StdioServerTransport` or a `StreamableHTTPServerTransport`).
 *
 * Tools: `record_action`, `record_outcome`, `get_receipt`, `verify_receipt`,
 * `get_agent`, `list_tasks`, `claim_task`. Every failure is a tool error
 * (`isError: true`) whose text is `{"code", "message"}` with a ChaosCore code.
 *
 * @example
 * ```ts
 * const server = createChaosCoreMcpServer({ client, agentKey });
 * await server.connect(new StdioServerTransport());
 * ```
 */
export function createChaosCoreMcpServer(options: McpServerOptions): McpServer {
  const { client, agentKey } = options;
  const agent: Address = privateKeyToAddress(agentKey);
  const server = new McpServer({
    name: options.name ?? "chaoscore",
    version: options.version ?? "0.1.0",
  });
  const writer = options.writer ?? new AgentWriter(client, agentKey);
  const serial = <T>(run: () => Promise<T>) => writer.serial(run);
  const theRecorder = () => writer.recorder();
  async function trustedKey(): Promise<{ key: string; pinned: boolean }> {
    if (options.trustedLogKey !== undefined) return { key: options.trustedLogKey, pinned: true };
    return { key: (await client.info()).log.verifierKey, pinned: false };
  }
  /** Verifies under the policy when there is one, else under the pinned (or the gateway's) log key. */
  async function verify(receipt: unknown): Promise<Record<string, unknown>> {
    if (options.policy !== undefined) {
      const verified = verifyReceiptWithPolicy(receipt, options.policy);
      return { valid: true, ...verified, trust: "trust policy (log key, witness quorum, anchors)" };
    }
    const { key, pinned } = await trustedKey();
    return {
      valid: true,
      ...verifyReceipt(receipt, key),
      trustedLogKey: key,
      trust: pinned
        ? "pinned log key"
        : "the gateway's own key (pin one with --policy or --log-key to verify without trusting the gateway)",
    };
  }

  server.registerTool(
    "record_action",
    {
      title: "Record a signed action",
      description:
        "Signs an action as the configured agent (the key stays in this process) and appends it to the ChaosCore log. Returns its id and leaf index; the receipt of the id proves it later. Use for tool calls, decisions and any step an auditor should see.",
      inputSchema: {
        type: z
          .string()
          .min(1)
          .max(128)
          .describe("the action type, e.g. tool.call, model.call, decision"),
        payload: z
          .unknown()
          .optional()
          .describe("any JSON value; its SHA-256 is signed, the value is stored with the action"),
        parents: z.array(ID).max(64).optional().describe("ids of actions this one follows from"),
        studio: z.string().max(128).optional().describe("the studio the action belongs to"),
        task: z.string().max(128).optional().describe("the studio task the action belongs to"),
      },
      annotations: { destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    (args) =>
      guarded(() =>
        serial(async () => {
          const r = await theRecorder();
          const recorded = await r.record(args.type, args.payload ?? null, {
            ...(args.parents === undefined ? {} : { parents: args.parents as Hex[] }),
            ...(args.studio === undefined ? {} : { studio: args.studio }),
            ...(args.task === undefined ? {} : { task: args.task }),
          });
          return ok({
            id: recorded.id,
            leafIndex: recorded.leafIndex,
            agent,
            nonce: recorded.nonce.toString(),
            duplicate: recorded.duplicate,
          });
        }),
      ),
  );

  server.registerTool(
    "record_outcome",
    {
      title: "Record a signed outcome",
      description:
        "Signs the outcome of an action (success, failure or partial) as the configured agent and appends it to the log. Only the result's hash is signed; metrics are stored with it.",
      inputSchema: {
        action: ID,
        status: z.enum(["success", "failure", "partial"]),
        result: z.unknown().optional().describe("the result (only its hash is logged)"),
        metrics: z.record(z.string(), z.unknown()).optional().describe("numbers worth keeping"),
      },
    },
    (args) =>
      guarded(() =>
        serial(async () => {
          const r = await theRecorder();
          const recorded = await r.outcome(args.action as Hex, args.status, {
            ...(args.result === undefined ? {} : { result: args.result }),
            ...(args.metrics === undefined ? {} : { metrics: args.metrics }),
          });
          return ok({ id: recorded.id, leafIndex: recorded.leafIndex, action: args.action });
        }),
      ),
  );

  server.registerTool(
    "get_receipt",
    {
      title: "Get a receipt",
      description:
        "Fetches the receipt of an action: the signed action (and outcome), its inclusion proof and the signed, cosigned checkpoint. Anyone can verify it offline.",
      inputSchema: {
        action: ID,
        payload: z.boolean().optional().describe("include the action's payload (default true)"),
      },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        const receipt = await client.receipt(
          args.action,
          args.payload === undefined ? {} : { payload: args.payload },
        );
        return ok({ receipt });
      }),
  );

  server.registerTool(
    "verify_receipt",
    {
      title: "Verify a receipt",
      description:
        "Verifies a receipt offline: the checkpoint's signature by the trusted log key (and, under a trust policy, the witness cosignature quorum and the anchor contract), the agent signatures, the inclusion proofs, the payload hash. Give the receipt itself, or an action id to fetch it. Fails with a code such as RECEIPT_SIGNATURE_INVALID or RECEIPT_WITNESS_QUORUM.",
      inputSchema: {
        receipt: z.record(z.string(), z.unknown()).optional().describe("a receipt (JSON object)"),
        action: ID.optional(),
      },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        if ((args.receipt === undefined) === (args.action === undefined)) {
          throw new ChaosCoreError("INVALID_INPUT", "give either receipt or action, not both");
        }
        const receipt = args.receipt ?? (await client.receipt(args.action as string));
        return ok(await verify(receipt));
      }),
  );

  server.registerTool(
    "get_agent",
    {
      title: "Look up an agent",
      description:
        "An agent's identity (status, signer, card), its reputation scores and its latest actions. Defaults to the configured agent.",
      inputSchema: {
        agent: ADDRESS.optional(),
        actions: z
          .number()
          .int()
          .min(0)
          .max(100)
          .optional()
          .describe("latest actions (default 10)"),
      },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        const id = (args.agent ?? agent).toLowerCase();
        const [record, reputation, actions] = await Promise.all([
          client.getAgent(id),
          client.reputation(id),
          args.actions === 0
            ? Promise.resolve({ items: [] })
            : client.listActions({ agent: id, limit: args.actions ?? 10 }),
        ]);
        return ok({ agent: record, reputation: reputation.items, actions: actions.items });
      }),
  );

  server.registerTool(
    "list_tasks",
    {
      title: "List a studio's tasks",
      description:
        "Tasks of a studio, by state (default open). A task assigned to the configured agent can be claimed with claim_task.",
      inputSchema: {
        studio: z.string().min(1).max(128),
        state: z
          .enum(["open", "assigned", "running", "submitted", "evaluated", "rewarded", "failed"])
          .optional(),
        limit: z.number().int().min(1).max(100).optional(),
      },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        const page = await client.listTasks(args.studio, {
          state: args.state ?? "open",
          ...(args.limit === undefined ? {} : { limit: args.limit }),
        });
        return ok({ tasks: page.items, nextCursor: page.nextCursor });
      }),
  );

  server.registerTool(
    "claim_task",
    {
      title: "Claim a task",
      description:
        "Starts a studio task assigned to the configured agent (the signed transition studio.task.start), so its work and submission are recorded under the task. Fails with STUDIO_* codes when the task is not assigned to this agent or not in the assigned state.",
      inputSchema: { studio: z.string().min(1).max(128), task: z.string().min(1).max(128) },
    },
    (args) =>
      guarded(() =>
        serial(async () => {
          await writer.dropRecorder(); // the transition takes a nonce the recorder does not know of
          const task = await client.getTask(args.studio, args.task);
          const signed = signStudioTransition({
            privateKey: agentKey,
            ...(await client.domain()),
            nonce: await client.nextNonce(agent),
            studio: args.studio,
            task: args.task,
            transition: "start",
            payload: {},
            previous: task.lastAction,
          });
          const result = await client.transition(args.studio, "start", signed);
          return ok({ actionId: result.actionId, task: result.task });
        }),
      ),
  );

  return server;
}
