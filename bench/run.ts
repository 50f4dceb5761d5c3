/**
 * Benchmarks. `npm run bench -- <name> [options]`; `npm run bench -- --help` lists them.
 * Each bench prints comparable figures and ends with one line per goal:
 *   GOAL <name> <measured> <target> PASS|FAIL
 */
import { isUsageError } from "./options.js";

const benches: Record<string, { describe: string; run: (args: string[]) => Promise<boolean> }> = {
  anchor: {
    describe:
      "gas per anchored action (1, 100, 1,000, 10,000 per checkpoint) vs one EAS attestation; anchor tx vs a bare slot write + event",
    run: async (args) => (await import("./anchor.js")).runAnchorBench(args),
  },
  ingest: {
    describe:
      "signed actions/s into PGlite and Postgres vs the one-thread secp256k1 verify rate; proof size; append time vs log size",
    run: async (args) => (await import("./ingest.js")).runIngestBench(args),
  },
  receipts: {
    describe:
      "verifyReceipt/s on one thread (receipts with an outcome, own checkpoints) vs the limit of its signature checks (2 secp256k1 recoveries + 1 Ed25519), same run",
    run: async (args) => (await import("./receipts.js")).runReceiptsBench(args),
  },
  gateway: {
    describe:
      "signed-action ingest over HTTP on loopback (autocannon) vs in-process ingest of the same engine: throughput, p50/p99, ratio",
    run: async (args) => (await import("./gateway.js")).runGatewayBench(args),
  },
  flood: {
    describe:
      "memory of the ingest queue under a flood of large actions submitted at once: default bounds vs unbounded",
    run: async (args) => (await import("./flood.js")).runFloodBench(args),
  },
  exec: {
    describe:
      "sandbox cold start, attested executions/s of a small task, the same task in node:vm (overhead ratio), gas metering cost and the corpus's gas spread",
    run: async (args) => (await import("./exec.js")).runExecBench(args),
  },
  attestation: {
    describe:
      "verifications/s on one thread of real TEE evidence (AWS Nitro document, Intel TDX quote + collateral) beside the mock quote",
    run: async (args) => (await import("./attestation.js")).runAttestationBench(args),
  },
  adapters: {
    describe:
      "added latency per recorded step (local signing + gateway round trip on loopback): MCP tool call and AI SDK model step vs bare",
    run: async (args) => (await import("./adapters.js")).runAdaptersBench(args),
  },
  witness: {
    describe:
      "checkpoints/s one C2SP witness cosigns (logs of 1k–1M entries; direct call with PGlite and memory stores, and over HTTP) and the p50/p99 latency 3 witnesses on loopback add to checkpoint publication",
    run: async (args) => (await import("./witness.js")).runWitnessBench(args),
  },
  reputation: {
    describe:
      "10,000 agents / 1,000,000 outcomes: incremental update and query vs full recompute; EigenTrust over 100,000 raters, cold and warm",
    run: async (args) => (await import("./reputation.js")).runReputationBench(args),
  },
  cli: {
    describe:
      "cold start of the installed `chaoscore --version` and `receipt verify` vs `node -e 0`; tarball sizes; browser verifier size (gzip)",
    run: async (args) => (await import("./cli.js")).runCliBench(args),
  },
  scale: {
    describe:
      "ingest over HTTP with 1, 2, 3 `serve` processes on one Postgres (default durability): actions/s, ratio to one, audit; gas of one batch anchor of 1/4/16 logs",
    run: async (args) => (await import("./scale.js")).runScaleBench(args),
  },
  replica: {
    describe:
      "a streaming replica under ingest through one serve --read-database-url: time until the replica serves an acknowledged action (p50/p99), chaoscore_replica_lag_seconds/_bytes",
    run: async (args) => (await import("./replica.js")).runReplicaBench(args),
  },
};

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || name === "--help" || name === "-h" || !(name in benches)) {
  console.log("usage: npm run bench -- <bench> [options]\n\nbenches:");
  for (const [n, b] of Object.entries(benches)) console.log(`  ${n.padEnd(10)} ${b.describe}`);
  console.log("\nrun `npm run bench -- <bench> --help` for its options");
  process.exit(name === undefined || name === "--help" || name === "-h" ? 0 : 2);
}
try {
  const ok = await benches[name]?.run(rest);
  process.exit(ok ? 0 : 1);
} catch (error) {
  if (!isUsageError(error)) throw error; // a failure: its stack says where
  console.error(`npm run bench -- ${name}: ${error.message}`);
  console.error(`run \`npm run bench -- ${name} --help\` for its options`);
  process.exit(2);
}
