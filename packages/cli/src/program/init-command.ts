/**
 * `chaoscore init`: create the data directory, the log key and a first agent key.
 * @module
 */
import type { Command } from "commander";
import { examples, globals, jsonOption } from "./common-options.js";

/** Registers `chaoscore init` on `program`. */
export function registerInitCommand(program: Command): void {
  program
    .command("init")
    .summary("create the data directory, the log key and a first agent key")
    .description(
      "create the data directory: config.json, the log's signing key, a first agent key, and the migrated database",
    )
    .option("--chain-id <id>", "chain id agents sign for", "31337")
    .option("--key-name <name>", "name of the first agent key", "default")
    .option("--force", "replace an existing config, log key and database (agent keys are kept)")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "CHAOSCORE_PASSWORD=… chaoscore init",
        "chaoscore --data-dir ./agent-a init --key-name alice",
        "chaoscore init --force          # start a fresh log in the same directory",
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runInit } = await import("../commands/init.js");
      await runInit(globals(cmd), opts);
    });
}
