/**
 * `chaoscore log …`: checkpoints, audit, monitor and status of the transparency log.
 * @module
 */
import type { Command } from "commander";
import { examples, globals, jsonOption, positiveInt } from "./common-options.js";

/** Registers `chaoscore log …` on `program`. */
export function registerLogCommands(program: Command): void {
  const log = program
    .command("log")
    .description("the transparency log: checkpoints, audit, status");
  log
    .command("checkpoint")
    .description("sign a checkpoint of the current tree (C2SP signed note) and print it")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore log checkpoint > checkpoint.txt"))
    .action(async (opts, cmd: Command) => {
      const { runLogCheckpoint } = await import("../commands/log.js");
      await runLogCheckpoint(globals(cmd), opts);
    });
  log
    .command("audit")
    .summary("check the whole log; exit 1 on any finding")
    .description(
      "check the whole log in one database snapshot: rebuild the tree from the stored leaves, compare it with the stored nodes and signed checkpoints, check every entry's signature and table row; with a chain (--rpc, CHAOSCORE_RPC_URL or chain.json), require every checkpoint the CheckpointAnchor contract holds for each shard of the log (each under its own origin): same size and root, a stored signed checkpoint, consistency proven; and every stored final anchor record (what receipts carry) must name a checkpoint the contract holds for its shard, with its size, root and block. Prints each finding with its leaf index or anchored size; exits 1 if there is any",
    )
    .option(
      "--rpc <url>",
      "the chain to check the anchors on (default: CHAOSCORE_RPC_URL, else chain.json)",
    )
    .option(
      "--contract <address>",
      "the CheckpointAnchor contract (default: the data dir's deployments/<chainId>.json)",
    )
    .option("--no-chain", "do not check against the chain even when one is configured")
    .option(
      "--repair-anchors",
      "stored final anchor records whose size and root the contract holds at another index take that index and are mined again (the next reconcile makes them final)",
    )
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore log audit",
        "chaoscore log audit --json",
        "chaoscore log audit --rpc http://127.0.0.1:8545 --contract 0x5FbDB2315678afecb367f032d93F642f64180aa3",
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runLogAudit } = await import("../commands/log.js");
      await runLogAudit(globals(cmd), opts);
    });
  log
    .command("monitor")
    .summary("follow a log from outside and report split views, rollbacks, bad entries")
    .description(
      "follow a log through its public API (tlog-tiles): verify each new checkpoint (log key, witness quorum of the policy), its consistency with the last one seen (state in --state, so a restart resumes), every new entry and tile, and, with --rpc, each anchored checkpoint of the policy's contracts. One pass exits 0 when clean, 1 with findings; --watch keeps going (docs/monitor.md)",
    )
    .requiredOption("--gateway <url>", "the log's gateway URL")
    .requiredOption("--policy <file>", "the trust policy (docs/spec/trust-policy.md)")
    .option("--state <file>", "the monitor's state file (default: <data-dir>/monitor-state.json)")
    .option("--rpc <url>", "also check the log against the policy's anchor contracts on this chain")
    .option(
      "--family",
      "follow every shard of the log family (GET /v1/logs): certificates, links, frozen shards (one pass; state default <data-dir>/monitor-family-state.json)",
    )
    .option("--watch", "keep running: a pass every --interval seconds")
    .option("--interval <seconds>", "seconds between passes with --watch (default 10)", positiveInt)
    .option(
      "--metrics-port <port>",
      "with --watch: serve Prometheus metrics on this port",
      positiveInt,
    )
    .option("--webhook <url>", "with --watch: POST each new finding to this URL as JSON")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore log monitor --gateway http://127.0.0.1:8080 --policy policy.json",
        "chaoscore log monitor --gateway http://127.0.0.1:8080 --policy policy.json --family",
        "chaoscore log monitor --gateway https://log.example --policy policy.json --rpc https://rpc.example --watch --metrics-port 9464 --webhook https://hooks.example/chaoscore",
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runLogMonitor } = await import("../commands/monitor.js");
      await runLogMonitor(globals(cmd), opts);
    });
  log
    .command("status")
    .description("show the log's origin, verifier key, size and latest checkpoint")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore log status"))
    .action(async (opts, cmd: Command) => {
      const { runLogStatus } = await import("../commands/log.js");
      await runLogStatus(globals(cmd), opts);
    });
  log
    .command("shards")
    .description(
      "list the shards of the log family (docs/spec/shards.md): id, origin, size, state, successor; then the rotation limits of this environment (CHAOSCORE_SHARD_MAX_ENTRIES/_AGE — a running serve rotates by its own --shard-max-* flags, which are stored nowhere)",
    )
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore log shards", "chaoscore log shards --json"))
    .action(async (opts, cmd: Command) => {
      const { runLogShards } = await import("../commands/log-shards.js");
      await runLogShards(globals(cmd), opts);
    });
}
