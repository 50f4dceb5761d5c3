/**
 * `chaoscore demo`: the whole vertical slice, embedded or over HTTP against a gateway.
 * @module
 */
import type { Command } from "commander";
import { examples, globals, nonNegativeInt } from "./common-options.js";

/** Registers `chaoscore demo` on `program`. */
export function registerDemoCommand(program: Command): void {
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
      "run the flow over HTTP against a stack: `staging` (reads .chaoscore/staging/stack.json from `npm run staging`, or the one in CHAOSCORE_STAGING_DIR); with two gateways it then writes through both across a shard rotation and reads through the replica",
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
        const { runGatewayDemo } = await import("../commands/demo-gateway.js");
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
      const { runDemo } = await import("../commands/demo.js");
      await runDemo(globals(cmd), opts);
    });
}
