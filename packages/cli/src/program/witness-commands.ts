/**
 * `chaoscore witness …`: a C2SP tlog-witness (init, serve).
 * @module
 */
import type { Command } from "commander";
import { collect, examples, globals } from "./common-options.js";

/** Registers `chaoscore witness …` on `program`. */
export function registerWitnessCommands(program: Command): void {
  const witness = program
    .command("witness")
    .description("a C2SP tlog-witness: cosigns the checkpoints of the logs it follows");
  witness
    .command("init")
    .summary("create the witness key in <data dir>/witness and print its verifier key")
    .option(
      "--name <name>",
      "the witness's key name (a schema-less URL)",
      "chaoscore.local/witness",
    )
    .option("--force", "replace an existing key")
    .action(async (opts, cmd: Command) => {
      const { runWitnessInit } = await import("../commands/witness.js");
      await runWitnessInit(globals(cmd), opts);
    });
  witness
    .command("serve")
    .summary("serve POST /add-checkpoint (C2SP tlog-witness) for the logs given")
    .description(
      "run a witness: it keeps the latest checkpoint it cosigned per log origin (PGlite in <data dir>/witness, or --database-url) and cosigns a new one only with a consistency proof from it. Makes the key on first use. Prints WITNESS_KEY <verifier key> and LISTENING <url>",
    )
    .option("--listen <host:port>", "address to listen on (port 0: a free one)", "127.0.0.1:8790")
    .option(
      "--log <origin key>",
      'a log to follow: "<origin> <verifier key>" or the key alone (repeatable)',
      collect,
    )
    .option("--config <file>", 'JSON: {"logs":[{"origin"?,"key"}],"listen"?,"databaseUrl"?}')
    .option(
      "--database-url <url>",
      "a Postgres server for the witness's state (schema chaoscore_witness)",
    )
    .option("--name <name>", "the key name if a key is made", "chaoscore.local/witness")
    .addHelpText(
      "after",
      examples(
        "chaoscore witness init --name witness.example.org/w1",
        'chaoscore witness serve --listen 127.0.0.1:8790 --log "chaoscore.local/log/default+884570c5+ATMM…"',
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runWitnessServe } = await import("../commands/witness.js");
      await runWitnessServe(globals(cmd), opts);
    });
}
