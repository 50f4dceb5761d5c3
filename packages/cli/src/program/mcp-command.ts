/**
 * `chaoscore mcp`: ChaosCore as a Model Context Protocol server.
 * @module
 */
import type { Command } from "commander";
import { examples, globals, nonNegativeInt } from "./common-options.js";

/** Registers `chaoscore mcp` on `program`. */
export function registerMcpCommand(program: Command): void {
  program
    .command("mcp")
    .summary(
      "ChaosCore as an MCP server: record signed actions and verify receipts from any MCP client",
    )
    .description(
      "serve ChaosCore to a Model Context Protocol client, over stdio (default) or Streamable HTTP (--http). Tools: record_action, record_outcome, get_receipt, verify_receipt, get_agent, list_tasks, claim_task. Entries are signed in this process with the agent's key (CHAOSCORE_AGENT_KEY as 0x hex, else the data dir's keystore --key with CHAOSCORE_PASSWORD) and sent to the gateway; the key never leaves this process. Receipts are verified against --log-key or the policy's log key, else the gateway's own key",
    )
    .option("--gateway <url>", "the gateway (default: CHAOSCORE_GATEWAY)")
    .option("--api-key <key>", "an operator API key, for routes that need one")
    .option("--key <name>", "the agent's keystore in the data dir", "default")
    .option("--http", "serve Streamable HTTP at http://<host>:<port>/mcp instead of stdio")
    .option("--host <host>", "interface to bind with --http", "127.0.0.1")
    .option("--port <port>", "TCP port with --http (0: a free one)", nonNegativeInt, 8788)
    .option("--log-key <key>", "pin the log's verifier key for verify_receipt")
    .option(
      "--policy <file>",
      "a trust policy file (chaoscore.trust-policy/v1): receipts must verify under its log key, witness quorum and anchors",
    )
    .addHelpText(
      "after",
      examples(
        "CHAOSCORE_PASSWORD=… chaoscore mcp --gateway http://127.0.0.1:8787",
        "chaoscore mcp --gateway http://127.0.0.1:8787 --http --port 8788",
        "claude mcp add chaoscore -- npx chaoscore mcp --gateway http://127.0.0.1:8787",
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runMcp } = await import("../commands/mcp.js");
      await runMcp(globals(cmd), opts);
    });
}
