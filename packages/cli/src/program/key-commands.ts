/**
 * `chaoscore key …`: agent keys (keystore v3 files in <data-dir>/keys).
 * @module
 */
import type { Command } from "commander";
import { examples, globals, jsonOption } from "./common-options.js";

/** Registers `chaoscore key …` on `program`. */
export function registerKeyCommands(program: Command): void {
  const key = program
    .command("key")
    .description("manage agent keys (Ethereum keystore v3 files in <data-dir>/keys)");
  key
    .command("new <name>")
    .description("create a random agent key, encrypted with the keystore password")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore key new evaluator"))
    .action(async (name: string, opts, cmd: Command) => {
      const { runKeyNew } = await import("../commands/key.js");
      await runKeyNew(globals(cmd), name, opts);
    });
  key
    .command("list")
    .description("list the agent keys and their addresses (no password needed)")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore key list", "chaoscore key list --json"))
    .action(async (opts, cmd: Command) => {
      const { runKeyList } = await import("../commands/key.js");
      await runKeyList(globals(cmd), opts);
    });
}
