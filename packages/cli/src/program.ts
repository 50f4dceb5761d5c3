/**
 * The command tree (commander). Only commander and this file load at start-up:
 * each command imports its module, and the heavy ones behind it, when it runs.
 * @module
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { info, UsageError } from "./output.js";
import { unknownCommandWithHelp } from "./unknown-command.js";

/** Options every command sees. */
export type Globals = {
  /** Absolute path of the data directory. */
  dataDir: string;
  /** True when --data-dir was given on the command line (not from CHAOSCORE_HOME or the default). */
  dataDirExplicit: boolean;
};

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

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join("\n")}`;
}

function rootOf(cmd: Command): Command {
  let root = cmd;
  while (root.parent !== null) root = root.parent;
  return root;
}

function globals(cmd: Command): Globals {
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
function gatewayFlags(command: Command): Command {
  return command
    .option(
      "--gateway <url>",
      "send this write through the gateway at <url> (its HTTP API) instead of opening the data dir's database, e.g. while `chaoscore serve` holds it",
    )
    .option("--api-key <key>", "with --gateway: an operator API key (default: CHAOSCORE_API_KEY)");
}

/** `--rpc` / `--key` of the chain commands: the same as CHAOSCORE_RPC_URL / CHAOSCORE_KEYSTORE. */
function chainFlags(command: Command): Command {
  return command
    .option("--rpc <url>", "an EVM JSON-RPC endpoint (default: CHAOSCORE_RPC_URL, else chain.json)")
    .option(
      "--key <keystore>",
      "keystore v3 of a funded key on --rpc (default: CHAOSCORE_KEYSTORE)",
    );
}

function applyChainFlags(opts: { rpc?: string; key?: string }): void {
  if (opts.rpc !== undefined) process.env.CHAOSCORE_RPC_URL = opts.rpc;
  if (opts.key !== undefined) process.env.CHAOSCORE_KEYSTORE = opts.key;
}

function nonNegativeInt(value: string): number {
  if (!/^(0|[1-9][0-9]{0,8})$/.test(value))
    throw new InvalidArgumentError("expected a non-negative integer");
  return Number(value);
}

function positiveInt(value: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value))
    throw new InvalidArgumentError("expected a positive integer");
  return Number(value);
}

function jsonValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new InvalidArgumentError("not valid JSON");
  }
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const jsonOption = () => new Option("--json", "print the result as JSON");

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

  // ---- init -----------------------------------------------------------------------------------
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
      const { runInit } = await import("./commands/init.js");
      await runInit(globals(cmd), opts);
    });

  // ---- key ------------------------------------------------------------------------------------
  const key = program
    .command("key")
    .description("manage agent keys (Ethereum keystore v3 files in <data-dir>/keys)");
  key
    .command("new <name>")
    .description("create a random agent key, encrypted with the keystore password")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore key new evaluator"))
    .action(async (name: string, opts, cmd: Command) => {
      const { runKeyNew } = await import("./commands/key.js");
      await runKeyNew(globals(cmd), name, opts);
    });
  key
    .command("list")
    .description("list the agent keys and their addresses (no password needed)")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore key list", "chaoscore key list --json"))
    .action(async (opts, cmd: Command) => {
      const { runKeyList } = await import("./commands/key.js");
      await runKeyList(globals(cmd), opts);
    });

  // ---- agent ----------------------------------------------------------------------------------
  const agent = program
    .command("agent")
    .description("register, inspect and verify agents; operator status changes");
  gatewayFlags(agent.command("register"))
    .description("register the agent of a local key: sign its agent card and submit it")
    .option("--key <name>", "the agent's key", "default")
    .option("--name <name>", "card: display name (default: the key name)")
    .option("--description <text>", "card: what the agent does")
    .option("--capability <tag>", "card: a capability tag (repeatable)", collect)
    .option("--framework <name>", "card: the agent framework")
    .option("--card <file>", "start from this agent card JSON (the options above override it)")
    .option(
      "--no-anchor",
      "do not anchor the card hash on chain (default: anchored when a chain is configured)",
    )
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        'chaoscore agent register --name "Proposal analyst" --capability governance.analyze',
        "chaoscore agent register --key evaluator --card evaluator-card.json",
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runAgentRegister } = await import("./commands/agent.js");
      await runAgentRegister(globals(cmd), opts);
    });
  agent
    .command("show [id]")
    .description("show an agent: identity, status and card (default: the agent of --key)")
    .option("--key <name>", "show the agent of this local key", "default")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore agent show", "chaoscore agent show 0x1234… --json"))
    .action(async (id: string | undefined, opts, cmd: Command) => {
      const { runAgentShow } = await import("./commands/agent.js");
      await runAgentShow(globals(cmd), id, opts);
    });
  agent
    .command("list")
    .description("list registered agents, oldest first, a page at a time")
    .option("--capability <tag>", "only agents with this capability")
    .option("--owner <address>", "only agents whose card names this owner")
    .addOption(
      new Option("--status <status>", "only agents with this status").choices([
        "active",
        "suspended",
        "revoked",
      ]),
    )
    .option("--limit <n>", "page size (1-500, default 50)", positiveInt)
    .option("--cursor <cursor>", "the next page (printed after a full page)")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples("chaoscore agent list", "chaoscore agent list --capability governance --json"),
    )
    .action(async (opts, cmd: Command) => {
      const { runAgentList } = await import("./commands/agent.js");
      await runAgentList(globals(cmd), opts);
    });
  agent
    .command("card [id]")
    .summary("export an agent's card as an A2A AgentCard or an ERC-8004 registration file")
    .description(
      "print (or --out) the agent's card in another ecosystem's format (docs/spec/agent-card.md): an A2A AgentCard (--format a2a; --sign signs it with the agent's key, JWS ES256K) or an ERC-8004 registration file (--format erc8004) naming its IdentityRegistry token. `agent register --card FILE` reads both formats back",
    )
    .addOption(
      new Option("--format <format>", "a2a or erc8004").choices(["a2a", "erc8004"]).default("a2a"),
    )
    .option(
      "--key <name>",
      "the agent of this local key (default id), and the key --sign uses",
      "default",
    )
    .option("--sign", "sign the A2A card with the agent's key")
    .option("--url <url>", "the A2A endpoint when the card names none")
    .option("--out <file>", "write to this file instead of stdout")
    .addHelpText(
      "after",
      examples(
        "chaoscore agent card --format a2a --sign --out agent-card.json",
        "chaoscore agent card 0x1234… --format erc8004",
        "chaoscore agent register --key other --card agent-card.json   # import either format",
      ),
    )
    .action(async (id: string | undefined, opts, cmd: Command) => {
      const { runAgentCardExport } = await import("./commands/agent-card.js");
      await runAgentCardExport(globals(cmd), id, opts);
    });
  agent
    .command("verify [id]")
    .summary("prove control of an agent's key (challenge-response)")
    .description(
      "prove control of an agent's key: the registry issues a challenge, the local key signs it (ProveAgentControl), the registry checks the answer",
    )
    .option("--key <name>", "the local key that answers the challenge", "default")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore agent verify", "chaoscore agent verify --key alice"))
    .action(async (id: string | undefined, opts, cmd: Command) => {
      const { runAgentVerify } = await import("./commands/agent.js");
      await runAgentVerify(globals(cmd), id, opts);
    });
  for (const [name, what] of [
    ["suspend", "operator: suspend an active agent (its actions are refused until reactivated)"],
    ["reactivate", "operator: reactivate a suspended agent"],
    ["revoke", "operator: revoke an agent for good"],
  ] as const) {
    agent
      .command(`${name} <id>`)
      .description(what)
      .requiredOption("--reason <text>", "why (recorded in the agent's status history)")
      .addOption(jsonOption())
      .addHelpText("after", examples(`chaoscore agent ${name} 0x1234… --reason "…"`))
      .action(async (id: string, opts, cmd: Command) => {
        const { runAgentStatus } = await import("./commands/agent.js");
        await runAgentStatus(globals(cmd), name, id, opts);
      });
  }

  // ---- exec -----------------------------------------------------------------------------------
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
      const { runExecRun } = await import("./commands/exec.js");
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
      const { runExecVerify } = await import("./commands/exec.js");
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
      const { runExecReplay } = await import("./commands/exec.js");
      await runExecReplay(globals(cmd), file, opts);
    });

  // ---- action ---------------------------------------------------------------------------------
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
      const { runActionRecord } = await import("./commands/action.js");
      await runActionRecord(globals(cmd), opts);
    });
  action
    .command("show <id>")
    .description("show a recorded action")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore action show 0x5f…"))
    .action(async (id: string, opts, cmd: Command) => {
      const { runActionShow } = await import("./commands/action.js");
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
      const { runActionList } = await import("./commands/action.js");
      await runActionList(globals(cmd), opts);
    });

  // ---- receipt --------------------------------------------------------------------------------
  const receipt = program
    .command("receipt")
    .description("get self-contained receipts and verify them offline");
  receipt
    .command("get <id>")
    .summary("build the receipt of an action")
    .description(
      "build the receipt of an action (or of an outcome's action): the signed entries, their inclusion proofs and a signed checkpoint",
    )
    .option("--out <file>", "write the receipt to a file and print its path and hash")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore receipt get 0x5f… --out receipt.json",
        "chaoscore receipt get 0x5f… | jq",
      ),
    )
    .action(async (id: string, opts, cmd: Command) => {
      const { runReceiptGet } = await import("./commands/receipt.js");
      await runReceiptGet(globals(cmd), id, opts);
    });
  receipt
    .command("verify <file>")
    .summary("verify a receipt offline, with only the receipt and the log key")
    .description(
      "verify a receipt offline (no database): the log's checkpoint signature, the agents' signatures, the inclusion proofs and the payload hash. '-' reads stdin",
    )
    .option(
      "--log-key <verifierKey>",
      "the log's verifier key (default: the one in the data dir's config.json)",
    )
    .option(
      "--policy <file>",
      "a trust policy (chaoscore.trust-policy/v1): the log key, the witnesses whose cosignatures are required (k of n) and the trusted anchor contracts (docs/spec/trust-policy.md)",
    )
    .option(
      "--rpc <url>",
      "also check the receipt's anchor on chain through this JSON-RPC URL (after the offline checks)",
    )
    .option(
      "--contract <address>",
      "with --rpc: the CheckpointAnchor contract to trust (default: the data dir's deployments/*.json); the receipt's own contract is never trusted",
    )
    .option("--chain-id <id>", "with --contract: its chain id (default: the data dir's chain id)")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore receipt verify receipt.json",
        "chaoscore receipt verify receipt.json --log-key 'chaoscore.local/log/default+1a2b3c4d+AQ…'",
        "cat receipt.json | chaoscore receipt verify - --json",
        "chaoscore receipt verify receipt.json --rpc http://127.0.0.1:8545",
        "chaoscore receipt verify receipt.json --policy policy.json --rpc http://127.0.0.1:8545",
        "chaoscore receipt verify receipt.json --rpc https://rpc.example --contract 0x5FbDB2315678afecb367f032d93F642f64180aa3 --chain-id 11155111",
      ),
    )
    .action(async (file: string, opts, cmd: Command) => {
      const { runReceiptVerify } = await import("./commands/receipt.js");
      await runReceiptVerify(globals(cmd), file, opts);
    });

  // ---- log ------------------------------------------------------------------------------------
  const log = program
    .command("log")
    .description("the transparency log: checkpoints, audit, status");
  log
    .command("checkpoint")
    .description("sign a checkpoint of the current tree (C2SP signed note) and print it")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore log checkpoint > checkpoint.txt"))
    .action(async (opts, cmd: Command) => {
      const { runLogCheckpoint } = await import("./commands/log.js");
      await runLogCheckpoint(globals(cmd), opts);
    });
  log
    .command("audit")
    .summary("check the whole log; exit 1 on any finding")
    .description(
      "check the whole log in one database snapshot: rebuild the tree from the stored leaves, compare it with the stored nodes and signed checkpoints, check every entry's signature and table row; with a chain (--rpc, CHAOSCORE_RPC_URL or chain.json), require every checkpoint the CheckpointAnchor contract holds for the log: same size and root, a stored signed checkpoint, consistency proven. Prints each finding with its leaf index or anchored size; exits 1 if there is any",
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
      const { runLogAudit } = await import("./commands/log.js");
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
        "chaoscore log monitor --gateway https://log.example --policy policy.json --rpc https://rpc.example --watch --metrics-port 9464 --webhook https://hooks.example/chaoscore",
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runLogMonitor } = await import("./commands/monitor.js");
      await runLogMonitor(globals(cmd), opts);
    });
  log
    .command("status")
    .description("show the log's origin, verifier key, size and latest checkpoint")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore log status"))
    .action(async (opts, cmd: Command) => {
      const { runLogStatus } = await import("./commands/log.js");
      await runLogStatus(globals(cmd), opts);
    });

  // ---- chain, anchor, reward -----------------------------------------------------------------
  const chain = program
    .command("chain")
    .description("the Ethereum side: a local anvil, the contracts, their status");
  chain
    .command("up")
    .summary("start a local anvil (state in the data dir) and deploy the contracts")
    .description(
      "start a local anvil with its state in <data-dir>/anvil-state.json, deploy the contracts if <data-dir>/deployments/<chainId>.json is missing or stale, write <data-dir>/chain.json; stays in the foreground until Ctrl-C unless --detach",
    )
    .option("--port <port>", "TCP port (default: a free one; 8545 with --detach)", positiveInt)
    .option(
      "--block-time <seconds>",
      "seconds between blocks (default: a block per transaction)",
      positiveInt,
    )
    .option("--detach", "run anvil in the background (`chaoscore chain down` stops it)")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples("chaoscore chain up", "chaoscore chain up --detach --port 8545 --block-time 1"),
    )
    .action(async (opts, cmd: Command) => {
      const { runChainUp } = await import("./commands/chain.js");
      await runChainUp(globals(cmd), opts);
    });
  chain
    .command("down")
    .description("stop the anvil started by `chain up --detach` (its state is saved)")
    .addOption(jsonOption())
    .action(async (opts, cmd: Command) => {
      const { runChainDown } = await import("./commands/chain.js");
      await runChainDown(globals(cmd), opts);
    });
  chainFlags(
    chain
      .command("deploy")
      .description(
        "deploy the contracts to the configured chain (--rpc + --key, CHAOSCORE_RPC_URL + CHAOSCORE_KEYSTORE, or chain.json) if they are not there; writes <data-dir>/deployments/<chainId>.json",
      ),
  )
    .option("--force", "deploy fresh contracts even if the deployments file is valid")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore chain deploy --rpc https://sepolia.example --key ./operator.json",
        "CHAOSCORE_RPC_URL=https://… CHAOSCORE_KEYSTORE=op.json chaoscore chain deploy",
      ),
    )
    .action(async (opts, cmd: Command) => {
      applyChainFlags(opts);
      const { runChainDeploy } = await import("./commands/chain.js");
      await runChainDeploy(globals(cmd), opts);
    });
  chainFlags(chain.command("status"))
    .description("rpc, chain id, block, contracts, balances, anchored checkpoints vs the log size")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore chain status --json"))
    .action(async (opts, cmd: Command) => {
      applyChainFlags(opts);
      const { runChainStatus } = await import("./commands/chain.js");
      await runChainStatus(globals(cmd), opts);
    });
  gatewayFlags(chainFlags(program.command("anchor")))
    .summary("anchor the log's current checkpoint on chain (and agent cards)")
    .description(
      "sign a checkpoint of the current tree and anchor it in the CheckpointAnchor contract (with the consistency proof from the last anchored one); idempotent. Receipts carry the anchor once it is final",
    )
    .option("--wait", "wait until the anchor is final (N confirmations)")
    .option("--agents", "also anchor the agents' card hashes in the IdentityRegistry")
    .option("--confirmations <n>", "confirmations for final (default 2)", positiveInt)
    .option(
      "--every <seconds>",
      "run the schedule in the foreground: reconcile and anchor every interval until Ctrl-C",
      positiveInt,
    )
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore anchor --wait",
        "chaoscore anchor --agents --json",
        "chaoscore anchor --every 60",
      ),
    )
    .action(async (opts, cmd: Command) => {
      applyChainFlags(opts);
      const { runAnchor } = await import("./commands/anchor.js");
      await runAnchor(globals(cmd), opts);
    });
  // ---- gateway ---------------------------------------------------------------------------------
  program
    .command("serve")
    .summary("start the HTTP gateway (REST API, OpenAPI docs, tlog-tiles, explorer, metrics)")
    .description(
      "serve the data dir's engine over HTTP. Embedded defaults: PGlite in <data-dir>/pgdata (or DATABASE_URL), a local anvil started here with the contracts deployed, checkpoints anchored every 30 s. With CHAOSCORE_RPC_URL (+ CHAOSCORE_KEYSTORE) or a `chain up` chain.json, that chain is used. Initializes the data dir on first start and prints ADMIN_KEY once; prints LISTENING <url> when ready; SIGTERM drains in-flight requests and queued writes",
    )
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .option("--port <port>", "TCP port (0: a free one)", nonNegativeInt, 8787)
    .option("--database-url <url>", "a Postgres server (default: DATABASE_URL, else PGlite)")
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
      const { runServe } = await import("./commands/serve.js");
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
      const { runApiKeyCreate } = await import("./commands/apikey.js");
      await runApiKeyCreate(globals(cmd), opts);
    });
  apikey
    .command("list")
    .description("list API keys (never their secrets)")
    .addOption(jsonOption())
    .action(async (opts, cmd: Command) => {
      const { runApiKeyList } = await import("./commands/apikey.js");
      await runApiKeyList(globals(cmd), opts);
    });
  apikey
    .command("revoke <id>")
    .description("revoke an API key")
    .addOption(jsonOption())
    .action(async (id: string, opts, cmd: Command) => {
      const { runApiKeyRevoke } = await import("./commands/apikey.js");
      await runApiKeyRevoke(globals(cmd), id, opts);
    });
  program
    .command("mcp")
    .summary(
      "ChaosCore as an MCP server: record signed actions and verify receipts from any MCP client",
    )
    .description(
      "serve ChaosCore to a Model Context Protocol client, over stdio (default) or Streamable HTTP (--http). Tools: record_action, record_outcome, get_receipt, verify_receipt, get_agent, list_tasks, claim_task. Entries are signed in this process with the agent's key (CHAOSCORE_AGENT_KEY as 0x hex, else the data dir's keystore --key with CHAOSCORE_PASSWORD) and sent to the gateway; the key never leaves this process. Receipts are verified against --log-key or the policy's log key, else the gateway's own key",
    )
    .option("--gateway <url>", "the gateway (default: CHAOSCORE_GATEWAY)")
    .option("--api-key <key>", "an operator API key, for routes that need one")
    .option("--key <name>", "the agent's keystore in the data dir", "default")
    .option("--http", "serve Streamable HTTP at http://<host>:<port>/mcp instead of stdio")
    .option("--host <host>", "interface to bind with --http", "127.0.0.1")
    .option("--port <port>", "TCP port with --http (0: a free one)", nonNegativeInt, 8788)
    .option("--log-key <key>", "pin the log's verifier key for verify_receipt")
    .option(
      "--policy <file>",
      "a trust policy file (chaoscore.trust-policy/v1): receipts must verify under its log key, witness quorum and anchors",
    )
    .addHelpText(
      "after",
      examples(
        "CHAOSCORE_PASSWORD=… chaoscore mcp --gateway http://127.0.0.1:8787",
        "chaoscore mcp --gateway http://127.0.0.1:8787 --http --port 8788",
        "claude mcp add chaoscore -- npx chaoscore mcp --gateway http://127.0.0.1:8787",
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runMcp } = await import("./commands/mcp.js");
      await runMcp(globals(cmd), opts);
    });
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
      const { runWitnessInit } = await import("./commands/witness.js");
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
      const { runWitnessServe } = await import("./commands/witness.js");
      await runWitnessServe(globals(cmd), opts);
    });
  const reward = program.command("reward").description("ERC-20 rewards to agents");
  reward
    .command("pay")
    .summary("pay agents through the RewardDistributor; the payout is logged as an action")
    .description(
      "pay ERC-20 rewards from a studio's budget (the chain key is the studio's operator) and record the payout as a reward.payout action signed by the operator agent (--key). Idempotent per payout id",
    )
    .requiredOption("--studio <name>", "the studio paying")
    .requiredOption("--payout-id <id>", "unique per studio: a retry never pays twice")
    .requiredOption(
      "--to <agent=amount>",
      "a recipient (agent id or local key name) and amount in token units (repeatable)",
      collect,
    )
    .option("--key <name>", "the operator agent's key (signs the payout action)", "default")
    .option("--fund", "local chains: create the studio if needed and mint+fund the total first")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        "chaoscore reward pay --studio governance --payout-id round-1 --to alice=100 --to 0x12…=50 --fund",
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runRewardPay } = await import("./commands/reward.js");
      await runRewardPay(globals(cmd), opts);
    });

  // ---- demo -----------------------------------------------------------------------------------
  program
    .command("demo")
    .summary("the whole vertical slice on a local chain, no setup; ends with RECEIPT <hash> <file>")
    .description(
      "the vertical slice on the embedded defaults: starts anvil and deploys the contracts, registers a governance agent (card anchored), simulates a proposal in the sandbox (attested), records the simulation and the vote, evaluates, updates reputation, anchors the checkpoint, pays a reward in the ERC-20 token, writes the receipt and verifies it offline and on chain",
    )
    .option(
      "--database-url <url>",
      "use this Postgres server (in a fresh schema, dropped at the end) instead of PGlite",
    )
    .option(
      "--rpc <url>",
      "run on this EVM JSON-RPC endpoint instead of a local anvil (with --key)",
    )
    .option(
      "--key <keystore>",
      "keystore v3 file of a funded key on --rpc (password: CHAOSCORE_PASSWORD or a prompt)",
    )
    .option(
      "--keep-chain",
      "leave the local anvil running, to run `receipt verify --rpc` afterwards",
    )
    .option(
      "--target <target>",
      "run the flow over HTTP against a stack: `staging` (reads .chaoscore/staging/stack.json from `npm run staging`)",
    )
    .option(
      "--gateway <url>",
      "run the flow over HTTP with the SDK against this gateway (with --api-key)",
    )
    .option("--api-key <key>", "operator API key of --gateway (default: CHAOSCORE_API_KEY)")
    .option(
      "--anchor-timeout <seconds>",
      "over HTTP: how long to wait for the receipt's anchor (0: do not wait)",
      nonNegativeInt,
      120,
    )
    .addHelpText(
      "after",
      examples(
        "chaoscore demo",
        "npm run staging && npm run demo -- --target staging",
        "chaoscore demo --gateway http://127.0.0.1:8787 --api-key cck_…",
        "chaoscore demo --keep-chain       # then: chaoscore receipt verify <file> --log-key … --rpc …",
        "chaoscore demo --data-dir ./demo    # keep the data in ./demo",
        "chaoscore demo --rpc https://sepolia.example --key ./funded.json",
      ),
    )
    .action(async (opts, cmd: Command) => {
      if (opts.target !== undefined || opts.gateway !== undefined) {
        const { runGatewayDemo } = await import("./commands/demo-gateway.js");
        const g = globals(cmd);
        const { mkdtemp, mkdir } = await import("node:fs/promises");
        const dir = g.dataDirExplicit
          ? g.dataDir
          : await mkdtemp(
              (await import("node:path")).join(
                (await import("node:os")).tmpdir(),
                "chaoscore-demo-",
              ),
            );
        await mkdir(dir, { recursive: true });
        await runGatewayDemo({ ...opts, dir });
        return;
      }
      const { runDemo } = await import("./commands/demo.js");
      await runDemo(globals(cmd), opts);
    });

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
