/**
 * `chaoscore receipt …`: build receipts and verify them offline.
 * @module
 */
import type { Command } from "commander";
import { examples, globals, jsonOption } from "./common-options.js";

/** Registers `chaoscore receipt …` on `program`. */
export function registerReceiptCommands(program: Command): void {
  const receipt = program
    .command("receipt")
    .description("get self-contained receipts and verify them offline");
  receipt
    .command("get <id>")
    .summary("build the receipt of an action")
    .description(
      "build the receipt of an action (or of an outcome's action): the signed entries, their inclusion proofs and a signed checkpoint",
    )
    .option("--out <file>", "write the receipt to a file and print its path and hash")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore receipt get 0x5f… --out receipt.json",
        "chaoscore receipt get 0x5f… | jq",
      ),
    )
    .action(async (id: string, opts, cmd: Command) => {
      const { runReceiptGet } = await import("../commands/receipt.js");
      await runReceiptGet(globals(cmd), id, opts);
    });
  receipt
    .command("verify <file>")
    .summary("verify a receipt offline, with only the receipt and the log key")
    .description(
      "verify a receipt offline (no database): the log's checkpoint signature, the agents' signatures, the inclusion proofs and the payload hash. '-' reads stdin",
    )
    .option(
      "--log-key <verifierKey>",
      "the log's verifier key (default: the one in the data dir's config.json)",
    )
    .option(
      "--policy <file>",
      "a trust policy (chaoscore.trust-policy/v1): the log key, the witnesses whose cosignatures are required (k of n) and the trusted anchor contracts (docs/spec/trust-policy.md)",
    )
    .option(
      "--rpc <url>",
      "also check the receipt's anchor on chain through this JSON-RPC URL (after the offline checks)",
    )
    .option(
      "--contract <address>",
      "with --rpc: the CheckpointAnchor contract to trust (default: the data dir's deployments/*.json); the receipt's own contract is never trusted",
    )
    .option("--chain-id <id>", "with --contract: its chain id (default: the data dir's chain id)")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore receipt verify receipt.json",
        "chaoscore receipt verify receipt.json --log-key 'chaoscore.local/log/default+1a2b3c4d+AQ…'",
        "cat receipt.json | chaoscore receipt verify - --json",
        "chaoscore receipt verify receipt.json --rpc http://127.0.0.1:8545",
        "chaoscore receipt verify receipt.json --policy policy.json --rpc http://127.0.0.1:8545",
        "chaoscore receipt verify receipt.json --rpc https://rpc.example --contract 0x5FbDB2315678afecb367f032d93F642f64180aa3 --chain-id 11155111",
      ),
    )
    .action(async (file: string, opts, cmd: Command) => {
      const { runReceiptVerify } = await import("../commands/receipt.js");
      await runReceiptVerify(globals(cmd), file, opts);
    });
}
