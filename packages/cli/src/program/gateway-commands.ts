/**
 * `chaoscore serve` (the HTTP gateway) and `chaoscore apikey …` (its operator API keys).
 * @module
 */
import type { Command } from "commander";
import {
  collect,
  examples,
  gatewayFlags,
  globals,
  jsonOption,
  nonNegativeInt,
  positiveInt,
} from "./common-options.js";

/** Registers `chaoscore serve` and `chaoscore apikey …` on `program`. */
export function registerGatewayCommands(program: Command): void {
  program
    .command("serve")
    .summary("start the HTTP gateway (REST API, OpenAPI docs, tlog-tiles, explorer, metrics)")
    .description(
      "serve the data dir's engine over HTTP. Embedded defaults: PGlite in <data-dir>/pgdata (or DATABASE_URL), a local anvil started here with the contracts deployed, checkpoints anchored every 30 s. With CHAOSCORE_RPC_URL (+ CHAOSCORE_KEYSTORE) or a `chain up` chain.json, that chain is used. Initializes the data dir on first start and prints ADMIN_KEY once; prints LISTENING <url> when ready; SIGTERM drains in-flight requests and queued writes",
    )
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .option("--port <port>", "TCP port (0: a free one)", nonNegativeInt, 8787)
    .option("--database-url <url>", "a Postgres server (default: DATABASE_URL, else PGlite)")
    .option(
      "--read-database-url <url>",
      "a streaming replica of that server: proofs, tiles, entries, checkpoints, search, actions and agents are read there, the primary when a client needs fresher data or the replica is down (default: CHAOSCORE_READ_DATABASE_URL)",
    )
    .option("--no-chain", "serve without a chain (no anchoring; /readyz checks the database only)")
    .option(
      "--anchor-every <seconds>",
      "anchor the checkpoint every N seconds in this process (0: leave it to a separate `chaoscore anchor --every` worker)",
      nonNegativeInt,
      30,
    )
    .option(
      "--confirmations <n>",
      "confirmations before an anchor is final (default 2)",
      positiveInt,
    )
    .option(
      "--rate-limit <n>",
      "requests per minute per API key, agent or address (0: no limit)",
      nonNegativeInt,
      60000,
    )
    .option("--body-limit <bytes>", "largest request body", positiveInt, 2 * 1024 * 1024)
    .option(
      "--cors-origin <origin>",
      "allow this browser origin (repeatable; default none)",
      collect,
    )
    .option(
      "--ip-rate-limit <n>",
      "requests per minute per client address, whoever the caller (0: no limit)",
      nonNegativeInt,
      0,
    )
    .option(
      "--global-rate-limit <n>",
      "requests per minute for this gateway in all (0: no limit)",
      nonNegativeInt,
      0,
    )
    .option(
      "--trust-proxy <value>",
      "which proxies' X-Forwarded-For names the client: true, a hop count, or comma-separated addresses/CIDRs (default: none)",
    )
    .option(
      "--registration <policy>",
      "who may register an agent by itself: open, closed (operator keys only) or pow:<bits> (hashcash proof of work)",
      "open",
    )
    .option(
      "--public-url <url>",
      "a URL agents reach this gateway at; signed requests name its origin (repeatable; default: the listening address and localhost, or CHAOSCORE_PUBLIC_URL, comma-separated)",
      collect,
    )
    .option(
      "--signature-threads <n>",
      "worker threads that recover signatures (0: inline)",
      nonNegativeInt,
      1,
    )
    .option(
      "--shard-max-entries <n>",
      "freeze the log's active shard and start the next one (docs/spec/shards.md) at the first write once it holds N leaves (0: never, else at least 2; default CHAOSCORE_SHARD_MAX_ENTRIES, else 0)",
      nonNegativeInt,
    )
    .option(
      "--shard-max-age <seconds>",
      "freeze the active shard at the first write once it is N seconds old (0: never; default CHAOSCORE_SHARD_MAX_AGE, else 0)",
      nonNegativeInt,
    )
    .option(
      "--explorer-url <url>",
      "block explorer base URL for transaction links (e.g. Otterscan)",
    )
    .option("--log-level <level>", "pino log level (silent, error, info, debug)", "info")
    .option(
      "--witness <url=key>",
      "a C2SP witness to submit checkpoints to: <url>=<verifier key> (repeatable; adds to config.json's witnesses)",
      collect,
    )
    .addHelpText(
      "after",
      examples(
        "chaoscore serve",
        "chaoscore serve --port 0 --no-chain",
        "DATABASE_URL=postgres://… chaoscore serve --host 0.0.0.0 --anchor-every 0",
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runServe } = await import("../commands/serve.js");
      await runServe(globals(cmd), opts);
    });
  const apikey = program.command("apikey").description("operator API keys of the gateway");
  gatewayFlags(apikey.command("create"))
    .description("create an API key in the data dir's database (its secret is printed once)")
    .requiredOption(
      "--scope <scope>",
      "admin, read (payloads; read-only is its former name), ingest or studio:<id> (repeatable)",
      collect,
    )
    .option("--label <text>", "what the key is for")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore apikey create --scope studio:governance --label ops"))
    .action(async (opts, cmd: Command) => {
      const { runApiKeyCreate } = await import("../commands/apikey.js");
      await runApiKeyCreate(globals(cmd), opts);
    });
  apikey
    .command("list")
    .description("list API keys (never their secrets)")
    .addOption(jsonOption())
    .action(async (opts, cmd: Command) => {
      const { runApiKeyList } = await import("../commands/apikey.js");
      await runApiKeyList(globals(cmd), opts);
    });
  apikey
    .command("revoke <id>")
    .description("revoke an API key")
    .addOption(jsonOption())
    .action(async (id: string, opts, cmd: Command) => {
      const { runApiKeyRevoke } = await import("../commands/apikey.js");
      await runApiKeyRevoke(globals(cmd), id, opts);
    });
}
