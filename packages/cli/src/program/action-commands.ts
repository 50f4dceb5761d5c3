/**
 * `chaoscore action …`: record, show and list signed actions.
 * @module
 */
import { type Command, Option } from "commander";
import {
  collect,
  examples,
  gatewayFlags,
  globals,
  jsonOption,
  jsonValue,
  positiveInt,
} from "./common-options.js";

/** Registers `chaoscore action …` on `program`. */
export function registerActionCommands(program: Command): void {
  const action = program.command("action").description("record and inspect signed actions");
  gatewayFlags(action.command("record"))
    .summary("sign an action with a local key and append it to the log")
    .description(
      "sign an action with a local agent key (next nonce) and append it to the log; only the payload's hash is signed and logged, the payload is stored beside it",
    )
    .requiredOption("--type <type>", "action type, e.g. tool.call or governance.vote")
    .addOption(
      new Option("--payload <json>", "the action's content, as JSON")
        .argParser(jsonValue)
        .conflicts("payloadFile"),
    )
    .option("--payload-file <file>", "read the payload JSON from a file ('-' for stdin)")
    .option("--studio <studio>", "studio the action belongs to")
    .option("--task <task>", "task the action belongs to")
    .option("--parent <id>", "id of an action this one follows from (repeatable)", collect)
    .option("--key <name>", "the agent's key", "default")
    .option(
      "--attestation <file>",
      "a recorded execution (from `exec run`): the action signs its quote's hash and carries the quote",
    )
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        `chaoscore action record --type tool.call --payload '{"tool":"search","q":"PIP-7"}'`,
        "chaoscore action record --type governance.simulate --attestation execution.json",
        "chaoscore action record --type governance.vote --payload-file vote.json --parent 0xab…",
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runActionRecord } = await import("../commands/action.js");
      await runActionRecord(globals(cmd), opts);
    });
  action
    .command("show <id>")
    .description("show a recorded action")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore action show 0x5f…"))
    .action(async (id: string, opts, cmd: Command) => {
      const { runActionShow } = await import("../commands/action.js");
      await runActionShow(globals(cmd), id, opts);
    });
  action
    .command("list")
    .description("list recorded actions in log order, a page at a time")
    .option("--agent <id>", "only this agent's actions")
    .option("--studio <studio>", "only this studio's actions")
    .option("--task <task>", "only this task's actions")
    .option("--type <type>", "only actions of this type")
    .option("--from <time>", "only actions signed at or after (ISO 8601 or unix seconds)")
    .option("--to <time>", "only actions signed before (ISO 8601 or unix seconds)")
    .option("--limit <n>", "page size (1-1000, default 50)", positiveInt)
    .option("--cursor <cursor>", "the next page (printed after a full page)")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore action list --type tool.call",
        "chaoscore action list --from 2025-01-01T00:00:00Z --limit 100 --json",
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runActionList } = await import("../commands/action.js");
      await runActionList(globals(cmd), opts);
    });
}
