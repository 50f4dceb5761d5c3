/**
 * `chaoscore <unknown command> --help`: Commander answers a help flag before
 * it looks at the command, so it printed the root help and exited 0 — a
 * script could not tell that the command does not exist. This walks the
 * command tree the way Commander will and names the first word that is not a
 * command of its parent.
 * @module
 */
import type { Command } from "commander";

/** Whether `option` (e.g. `--data-dir`) of `command` takes a value. */
function takesValue(command: Command, flag: string): boolean {
  const option = command.options.find((o) => o.long === flag || o.short === flag);
  return option !== undefined && (option.required || option.optional);
}

/**
 * The unknown command word in `args` (the arguments after the program name)
 * when a help flag would hide it, e.g. `["nosuch", "--help"]` → `{ word:
 * "nosuch", parent: "chaoscore" }`; undefined when every command word is
 * known or no help flag is given.
 */
export function unknownCommandWithHelp(
  program: Command,
  args: readonly string[],
): { word: string; parent: string } | undefined {
  if (!args.some((a) => a === "--help" || a === "-h")) return undefined;
  let command = program;
  const path = [program.name()];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") return undefined;
    if (arg.startsWith("-")) {
      // Options of this command or of its parents (global options such as --data-dir).
      if (!arg.includes("=")) {
        for (let c: Command | null = command; c !== null; c = c.parent) {
          if (takesValue(c, arg)) {
            i++;
            break;
          }
        }
      }
      continue;
    }
    if (command.commands.length === 0) return undefined; // an argument of a leaf command
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub === undefined) {
      // `help <command>` is Commander's own help command.
      if (arg === "help") return undefined;
      return { word: arg, parent: path.join(" ") };
    }
    command = sub;
    path.push(sub.name());
  }
  return undefined;
}
