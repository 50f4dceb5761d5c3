/**
 * `chaoscore exec …`: run code in the QuickJS sandbox with an attestation; verify and replay runs.
 * @module
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import {
  collect,
  examples,
  globals,
  jsonOption,
  jsonValue,
  positiveInt,
} from "./common-options.js";

/** Registers `chaoscore exec …` on `program`. */
export function registerExecCommands(program: Command): void {
  const exec = program
    .command("exec")
    .description("run agent code in the sandbox with an attestation; verify and replay runs");
  exec
    .command("run <file>")
    .summary("run JavaScript/TypeScript in the QuickJS sandbox and attest the run (mock TEE)")
    .description(
      "run a module (its default export or main(input, host)) in the QuickJS sandbox — no fs, net or clock; seeded randomness — and get a quote from the data dir's mock TEE that binds the code's measurement to the input and output hashes; writes the recorded execution",
    )
    .addOption(
      new Option("--input <json>", "the task input, as JSON")
        .argParser(jsonValue)
        .conflicts("inputFile"),
    )
    .option("--input-file <file>", "read the input JSON from a file")
    .option("--seed <text>", "seed of the sandbox's random numbers (default empty)")
    .option("--clock <ms>", "the fixed time the code sees, ms since the epoch (default 0)")
    .option(
      "--key <name>",
      "the agent the run is bound to: the quote's nonce starts with its address (only that agent can record it)",
      "default",
    )
    .option("--out <file>", "where to write the recorded execution", "execution.json")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        `chaoscore exec run simulate.js --input '{"treasury":1000,"grant":250}'`,
        "chaoscore exec verify execution.json && chaoscore exec replay execution.json",
        "chaoscore action record --type governance.simulate --attestation execution.json",
      ),
    )
    .action(async (file: string, opts, cmd: Command) => {
      const { runExecRun } = await import("../commands/exec.js");
      await runExecRun(globals(cmd), file, opts);
    });
  exec
    .command("verify <recorded>")
    .description(
      "verify a recorded execution offline: recompute its hashes and measurement and check the quote under the trusted roots; or verify real TEE evidence (an AWS Nitro attestation document, an Intel TDX quote, or a chaoscore.tee-evidence/v1 file with collateral)",
    )
    .option(
      "--root <publicKey>",
      "a trusted attestation root (repeatable; default: the data dir's)",
      collect,
    )
    .option("--max-age <seconds>", "oldest acceptable quote", positiveInt)
    .option(
      "--policy <file>",
      "real TEE evidence: a trust policy file (its `attestation` member) or an attestation policy",
    )
    .option(
      "--at <unix>",
      "real TEE evidence: the time to judge it at (default now)",
      (v: string) => {
        if (!/^[0-9]{1,12}$/.test(v)) throw new InvalidArgumentError("expected unix seconds");
        return Number(v);
      },
    )
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore exec verify execution.json",
        "chaoscore exec verify nitro-document.cbor --at 1663263864 --policy trust-policy.json",
      ),
    )
    .action(async (file: string, opts, cmd: Command) => {
      const { runExecVerify } = await import("../commands/exec.js");
      await runExecVerify(globals(cmd), file, opts);
    });
  exec
    .command("replay <recorded>")
    .description(
      "re-run a recorded execution in a fresh sandbox and confirm it reproduces the output hash (trust without the TEE)",
    )
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore exec replay execution.json"))
    .action(async (file: string, opts, cmd: Command) => {
      const { runExecReplay } = await import("../commands/exec.js");
      await runExecReplay(globals(cmd), file, opts);
    });
}
