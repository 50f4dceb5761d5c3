/**
 * What the command groups share: the global options every command sees, the
 * flag sets several commands take (`--gateway`, `--rpc`/`--key`), option
 * parsers and the `Examples:` help block.
 * @module
 */
import { resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";

/** Options every command sees. */
export type Globals = {
  /** Absolute path of the data directory. */
  dataDir: string;
  /** True when --data-dir was given on the command line (not from CHAOSCORE_HOME or the default). */
  dataDirExplicit: boolean;
};

/** The `Examples:` block appended to a command's help. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join("\n")}`;
}

function rootOf(cmd: Command): Command {
  let root = cmd;
  while (root.parent !== null) root = root.parent;
  return root;
}

/** The global options (`--data-dir`) as seen by `cmd`, a command anywhere in the tree. */
export function globals(cmd: Command): Globals {
  const root = rootOf(cmd);
  return {
    dataDir: resolve(root.opts<{ dataDir: string }>().dataDir),
    dataDirExplicit: root.getOptionValueSource("dataDir") === "cli",
  };
}

/**
 * `--gateway` / `--api-key` of the writing commands: send the write through a running server's
 * API instead of opening its (locked) embedded data directory.
 */
export function gatewayFlags(command: Command): Command {
  return command
    .option(
      "--gateway <url>",
      "send this write through the gateway at <url> (its HTTP API) instead of opening the data dir's database, e.g. while `chaoscore serve` holds it",
    )
    .option("--api-key <key>", "with --gateway: an operator API key (default: CHAOSCORE_API_KEY)");
}

/** `--rpc` / `--key` of the chain commands: the same as CHAOSCORE_RPC_URL / CHAOSCORE_KEYSTORE. */
export function chainFlags(command: Command): Command {
  return command
    .option("--rpc <url>", "an EVM JSON-RPC endpoint (default: CHAOSCORE_RPC_URL, else chain.json)")
    .option(
      "--key <keystore>",
      "keystore v3 of a funded key on --rpc (default: CHAOSCORE_KEYSTORE)",
    );
}

/** Puts `--rpc` / `--key` into the environment the chain commands read (CHAOSCORE_RPC_URL / CHAOSCORE_KEYSTORE). */
export function applyChainFlags(opts: { rpc?: string; key?: string }): void {
  if (opts.rpc !== undefined) process.env.CHAOSCORE_RPC_URL = opts.rpc;
  if (opts.key !== undefined) process.env.CHAOSCORE_KEYSTORE = opts.key;
}

/** Option parser: a non-negative integer (at most 9 digits); a usage error otherwise. */
export function nonNegativeInt(value: string): number {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(value))
    throw new InvalidArgumentError("expected a non-negative integer");
  return Number(value);
}

/** Option parser: a positive integer (at most 9 digits); a usage error otherwise. */
export function positiveInt(value: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value))
    throw new InvalidArgumentError("expected a positive integer");
  return Number(value);
}

/** Option parser: a JSON value; a usage error when it does not parse. */
export function jsonValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new InvalidArgumentError("not valid JSON");
  }
}

/** Option parser of a repeatable option: collects its values in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `--json`: print the result as JSON. */
export const jsonOption = () => new Option("--json", "print the result as JSON");
