/**
 * `chaoscore chain …` (a local anvil, the contracts, their status) and `chaoscore anchor`.
 * @module
 */
import type { Command } from "commander";
import {
  applyChainFlags,
  chainFlags,
  examples,
  gatewayFlags,
  globals,
  jsonOption,
  positiveInt,
} from "./common-options.js";

/** Registers `chaoscore chain …` and `chaoscore anchor` on `program`. */
export function registerChainCommands(program: Command): void {
  const chain = program
    .command("chain")
    .description("the Ethereum side: a local anvil, the contracts, their status");
  chain
    .command("up")
    .summary("start a local anvil (state in the data dir) and deploy the contracts")
    .description(
      "start a local anvil with its state in <data-dir>/anvil-state.json, deploy the contracts if <data-dir>/deployments/<chainId>.json is missing or stale, write <data-dir>/chain.json; stays in the foreground until Ctrl-C unless --detach",
    )
    .option("--port <port>", "TCP port (default: a free one; 8545 with --detach)", positiveInt)
    .option(
      "--block-time <seconds>",
      "seconds between blocks (default: a block per transaction)",
      positiveInt,
    )
    .option("--detach", "run anvil in the background (`chaoscore chain down` stops it)")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples("chaoscore chain up", "chaoscore chain up --detach --port 8545 --block-time 1"),
    )
    .action(async (opts, cmd: Command) => {
      const { runChainUp } = await import("../commands/chain.js");
      await runChainUp(globals(cmd), opts);
    });
  chain
    .command("down")
    .description("stop the anvil started by `chain up --detach` (its state is saved)")
    .addOption(jsonOption())
    .action(async (opts, cmd: Command) => {
      const { runChainDown } = await import("../commands/chain.js");
      await runChainDown(globals(cmd), opts);
    });
  chainFlags(
    chain
      .command("deploy")
      .description(
        "deploy the contracts to the configured chain (--rpc + --key, CHAOSCORE_RPC_URL + CHAOSCORE_KEYSTORE, or chain.json) if they are not there; writes <data-dir>/deployments/<chainId>.json",
      ),
  )
    .option("--force", "deploy fresh contracts even if the deployments file is valid")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore chain deploy --rpc https://sepolia.example --key ./operator.json",
        "CHAOSCORE_RPC_URL=https://… CHAOSCORE_KEYSTORE=op.json chaoscore chain deploy",
      ),
    )
    .action(async (opts, cmd: Command) => {
      applyChainFlags(opts);
      const { runChainDeploy } = await import("../commands/chain.js");
      await runChainDeploy(globals(cmd), opts);
    });
  chainFlags(chain.command("status"))
    .description("rpc, chain id, block, contracts, balances, anchored checkpoints vs the log size")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore chain status --json"))
    .action(async (opts, cmd: Command) => {
      applyChainFlags(opts);
      const { runChainStatus } = await import("../commands/chain.js");
      await runChainStatus(globals(cmd), opts);
    });
  gatewayFlags(chainFlags(program.command("anchor")))
    .summary("anchor the log's current checkpoint on chain (and agent cards)")
    .description(
      "sign a checkpoint of the current tree and anchor it in the CheckpointAnchor contract (with the consistency proof from the last anchored one); idempotent. Receipts carry the anchor once it is final",
    )
    .option("--wait", "wait until the anchor is final (N confirmations)")
    .option("--agents", "also anchor the agents' card hashes in the IdentityRegistry")
    .option("--confirmations <n>", "confirmations for final (default 2)", positiveInt)
    .option(
      "--every <seconds>",
      "run the schedule in the foreground: reconcile and anchor every interval until Ctrl-C",
      positiveInt,
    )
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore anchor --wait",
        "chaoscore anchor --agents --json",
        "chaoscore anchor --every 60",
      ),
    )
    .action(async (opts, cmd: Command) => {
      applyChainFlags(opts);
      const { runAnchor } = await import("../commands/anchor.js");
      await runAnchor(globals(cmd), opts);
    });
}
