import { readFile } from "node:fs/promises";
import {
  hexToBytes,
  isChaosCoreError,
  parseTrustPolicy,
  privateKeyToAddress,
  type TrustPolicy,
} from "@chaoscore/core";
import { ChaosCoreClient } from "@chaoscore/sdk";
import { unlockKey } from "../data-dir.js";
import { info, UsageError } from "../output.js";
import type { Globals } from "../program.js";
import { untilStopSignal } from "../stop-signals.js";

export type McpOptions = {
  gateway?: string;
  apiKey?: string;
  key: string;
  http?: boolean;
  host: string;
  port: number;
  logKey?: string;
  policy?: string;
};

/** The trust to verify receipts under: a --policy file (whole: key, quorum, anchors), or --log-key. */
async function trustOf(
  opts: McpOptions,
): Promise<{ policy?: TrustPolicy; trustedLogKey?: string }> {
  if (opts.policy !== undefined && opts.logKey !== undefined) {
    throw new UsageError("--policy names the log key: give --policy or --log-key, not both");
  }
  if (opts.logKey !== undefined) return { trustedLogKey: opts.logKey };
  if (opts.policy === undefined) return {};
  let text: string;
  try {
    text = await readFile(opts.policy, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read the policy file ${opts.policy}: ${(error as Error).message}`);
  }
  return { policy: parseTrustPolicy(text) };
}

/** The agent key: CHAOSCORE_AGENT_KEY (hex), else the data dir's keystore `--key`. */
async function agentKey(globals: Globals, opts: McpOptions): Promise<Uint8Array> {
  const hex = process.env.CHAOSCORE_AGENT_KEY;
  if (hex !== undefined && hex !== "") {
    if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) {
      throw new UsageError("CHAOSCORE_AGENT_KEY must be 0x followed by 64 hex digits");
    }
    return hexToBytes(hex.toLowerCase() as `0x${string}`);
  }
  if (!opts.http && process.env.CHAOSCORE_PASSWORD === undefined) {
    throw new UsageError(
      "over stdio the keystore password cannot be prompted for: set CHAOSCORE_PASSWORD (or CHAOSCORE_AGENT_KEY)",
    );
  }
  return (await unlockKey(globals.dataDir, opts.key)).privateKey;
}

/** `chaoscore mcp`: the MCP server, over stdio (default) or Streamable HTTP. */
export async function runMcp(globals: Globals, opts: McpOptions): Promise<void> {
  const gateway = opts.gateway ?? process.env.CHAOSCORE_GATEWAY;
  if (gateway === undefined || gateway === "") {
    throw new UsageError("--gateway <url> (or CHAOSCORE_GATEWAY) is required");
  }
  const key = await agentKey(globals, opts);
  const trust = await trustOf(opts);
  const client = new ChaosCoreClient({
    baseUrl: gateway,
    agentKey: key,
    ...(opts.apiKey === undefined ? {} : { apiKey: opts.apiKey }),
  });
  const { createChaosCoreMcpServer, serveMcpOverHttp } = await import("@chaoscore/mcp");
  const options = {
    client,
    agentKey: key,
    ...trust,
  };
  const agent = privateKeyToAddress(key);
  if (opts.http) {
    const server = await serveMcpOverHttp({ ...options, host: opts.host, port: opts.port });
    info(`agent ${agent}, gateway ${gateway}`);
    process.stdout.write(`LISTENING ${server.url}\n`);
    await untilStopSignal();
    await server.close();
    return;
  }
  const { StdioServerTransport } = await import("@modelcontextprotocol/sdk/server/stdio.js");
  const server = createChaosCoreMcpServer(options);
  const transport = new StdioServerTransport();
  info(`chaoscore mcp: agent ${agent}, gateway ${gateway}, MCP on stdio`);
  try {
    await server.connect(transport);
  } catch (error) {
    if (isChaosCoreError(error)) throw error;
    throw new UsageError(`cannot start the MCP server: ${(error as Error).message}`);
  }
  await new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once("end", () => resolve());
  });
}
