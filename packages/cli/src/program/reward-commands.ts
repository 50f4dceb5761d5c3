/**
 * `chaoscore reward …`: ERC-20 rewards to agents.
 * @module
 */
import type { Command } from "commander";
import { collect, examples, globals, jsonOption } from "./common-options.js";

/** Registers `chaoscore reward …` on `program`. */
export function registerRewardCommands(program: Command): void {
  const reward = program.command("reward").description("ERC-20 rewards to agents");
  reward
    .command("pay")
    .summary("pay agents through the RewardDistributor; the payout is logged as an action")
    .description(
      "pay ERC-20 rewards from a studio's budget (the chain key is the studio's operator) and record the payout as a reward.payout action signed by the operator agent (--key). Idempotent per payout id",
    )
    .requiredOption("--studio <name>", "the studio paying")
    .requiredOption("--payout-id <id>", "unique per studio: a retry never pays twice")
    .requiredOption(
      "--to <agent=amount>",
      "a recipient (agent id or local key name) and amount in token units (repeatable)",
      collect,
    )
    .option("--key <name>", "the operator agent's key (signs the payout action)", "default")
    .option("--fund", "local chains: create the studio if needed and mint+fund the total first")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore reward pay --studio governance --payout-id round-1 --to alice=100 --to 0x12…=50 --fund",
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runRewardPay } = await import("../commands/reward.js");
      await runRewardPay(globals(cmd), opts);
    });
}
