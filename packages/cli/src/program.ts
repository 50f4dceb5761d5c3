/**
 * The `chaoscore` program: the top-level options and help, the command groups
 * (one file each in ./program/, registered in the order `--help` lists them),
 * and `run`, which maps errors to the exit codes the CLI promises. Only
 * commander and these files load at start-up: each command imports its module,
 * and the heavy ones behind it, when it runs.
 * @module
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { info, UsageError } from "./output.js";
import { registerActionCommands } from "./program/action-commands.js";
import { registerAgentCommands } from "./program/agent-commands.js";
import { registerChainCommands } from "./program/chain-commands.js";
import { registerDemoCommand } from "./program/demo-command.js";
import { registerExecCommands } from "./program/exec-commands.js";
import { registerGatewayCommands } from "./program/gateway-commands.js";
import { registerInitCommand } from "./program/init-command.js";
import { registerKeyCommands } from "./program/key-commands.js";
import { registerLogCommands } from "./program/log-commands.js";
import { registerMcpCommand } from "./program/mcp-command.js";
import { registerReceiptCommands } from "./program/receipt-commands.js";
import { registerRewardCommands } from "./program/reward-commands.js";
import { registerWitnessCommands } from "./program/witness-commands.js";
import { unknownCommandWithHelp } from "./unknown-command.js";

export type { Globals } from "./program/common-options.js";

const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;

const TOP_HELP = `
Typical sequence:
  chaoscore init                                  data dir, log key, a first agent key
  chaoscore agent register --name "my agent"      register the agent of the default key
  chaoscore action record --type tool.call --payload '{"q":"hi"}'
  chaoscore receipt get <action-id> --out receipt.json
  chaoscore receipt verify receipt.json           offline: only the receipt and the log key

  chaoscore demo                                  all of it in a temporary directory, no setup

Environment:
  CHAOSCORE_HOME       data directory (default ./.chaoscore; --data-dir wins)
  CHAOSCORE_PASSWORD   password of the agent keystores (else a hidden prompt on a terminal)
  DATABASE_URL         use this Postgres server instead of the embedded PGlite database
  DEBUG=chaoscore      print the stack of unexpected errors

Results go to stdout (--json for machine-readable output), progress and hints to stderr.
Exit codes: 0 ok, 1 error (or a failed verification / audit), 2 usage error.`;

/** Builds the `chaoscore` program. */
export function buildProgram(): Command {
  const program = new Command("chaoscore");
  program
    .description(
      "ChaosCore: a trust layer for AI agents. Register agents, record their signed actions in a tamper-evident log, and hand out receipts that anyone can verify offline.",
    )
    .version(VERSION, "-V, --version", "print the version")
    .addOption(
      new Option("--data-dir <dir>", "data directory (config, keys, database)")
        .env("CHAOSCORE_HOME")
        .default(".chaoscore"),
    )
    .helpOption("-h, --help", "show help")
    .helpCommand("help [command]", "show help for a command")
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .addHelpText("after", TOP_HELP);

  // The order here is the order of `chaoscore --help`.
  registerInitCommand(program);
  registerKeyCommands(program);
  registerAgentCommands(program);
  registerExecCommands(program);
  registerActionCommands(program);
  registerReceiptCommands(program);
  registerLogCommands(program);
  registerChainCommands(program); // chain …, anchor
  registerGatewayCommands(program); // serve, apikey …
  registerMcpCommand(program);
  registerWitnessCommands(program);
  registerRewardCommands(program);
  registerDemoCommand(program);

  return program;
}

/** True for a ChaosCoreError, also one from another copy of @chaoscore/core. */
function isCodedError(error: unknown): error is Error & { code: string; toJSON(): unknown } {
  return (
    error instanceof Error &&
    error.name === "ChaosCoreError" &&
    typeof (error as { code?: unknown }).code === "string"
  );
}

function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).includes("--json");
}

/**
 * Runs the CLI on `argv` (as in `process.argv`) and resolves to the exit code:
 * 0 ok, 1 a ChaosCoreError or another failure, 2 a usage error.
 */
export async function run(argv: readonly string[]): Promise<number> {
  const json = wantsJson(argv);
  // Commands report a failed check (a bad receipt, audit findings) through process.exitCode.
  const previous = process.exitCode;
  process.exitCode = undefined;
  try {
    const program = buildProgram();
    const unknown = unknownCommandWithHelp(program, argv.slice(2));
    if (unknown !== undefined) {
      throw new UsageError(
        `unknown command '${unknown.word}' (see '${unknown.parent} --help' for the commands)`,
      );
    }
    await program.parseAsync([...argv]);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    return report(error, json);
  } finally {
    process.exitCode = previous;
  }
}

/** Prints an error the way the CLI promises and returns its exit code. */
function report(error: unknown, json: boolean): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  if (error instanceof UsageError) {
    if (json) info(JSON.stringify({ code: "USAGE", message: error.message }));
    else info(`error: ${error.message}`);
    return 2;
  }
  if (isCodedError(error)) {
    if (json) info(JSON.stringify(error.toJSON()));
    else info(`error ${error.code}: ${error.message}`);
    if (process.env.DEBUG?.includes("chaoscore")) info(String(error.stack));
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (json) info(JSON.stringify({ code: "UNEXPECTED", message }));
  else info(`error: ${message}`);
  if (process.env.DEBUG?.includes("chaoscore")) {
    info(error instanceof Error ? String(error.stack) : "");
  } else if (!json) {
    info("(set DEBUG=chaoscore for the stack trace)");
  }
  return 1;
}
