/**
 * `chaoscore demo`: the whole vertical slice on the embedded defaults — a
 * local anvil the demo starts itself, the contracts deployed on it, PGlite in
 * a fresh directory, in-memory keys (no password) — or on any EVM chain with
 * `--rpc <url> --key <keystore>`.
 *
 * register agents (cards anchored) → a governance proposal is simulated in the
 * sandbox (attested) → the agent signs the simulation and its vote → the
 * evaluator signs the outcome → reputation updates → the checkpoint is
 * anchored → the reward is paid in the ERC-20 token → the receipt is written,
 * verified offline and against the chain. The last line is
 * `RECEIPT <hash> <file>`.
 * @module
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ANVIL_MNEMONIC,
  type AnvilInstance,
  anvilBinary,
  type ChainSigner,
  type ChaosCoreContracts,
  deployContracts,
  EthereumClient,
  LocalSigner,
  loadKeystore,
  openContracts,
  startAnvil,
  studioIdOf,
  verifyReceiptAnchor,
} from "@chaoscore/chain";
import {
  AGENT_CARD_FORMAT,
  type AgentCard,
  type Hex,
  isChaosCoreError,
  privateKeyToAddress,
  signAction,
  signOutcome,
  signRegistration,
  verifyReceipt,
} from "@chaoscore/core";
import {
  createEngine,
  type Db,
  defaultSandbox,
  type Engine,
  executeAttested,
  MockTeeProvider,
  openDatabase,
  ReputationComputer,
  RewardService,
} from "@chaoscore/engine";
import {
  CONFIG_FORMAT,
  DEFAULT_ORIGIN,
  dataPaths,
  isInitialized,
  writeConfig,
  writeLogKey,
} from "../data-dir.js";
import { formatDuration, info, out, shortHex, UsageError } from "../output.js";
import type { Globals } from "../program.js";
import { receiptHash } from "./receipt.js";

const SIMULATION = new URL("../../../../examples/simulate-proposal.js", import.meta.url);

function card(name: string, description: string, capabilities: string[]): AgentCard {
  return {
    format: AGENT_CARD_FORMAT,
    name,
    description,
    capabilities,
    framework: "chaoscore-demo",
    version: "1.0.0",
    endpoints: [],
    codeMeasurement: null,
    owner: null,
  };
}

export type DemoOptions = {
  databaseUrl?: string;
  /** Any EVM JSON-RPC endpoint instead of a local anvil (needs --key). */
  rpc?: string;
  /** Keystore v3 file of a funded key (with --rpc). */
  key?: string;
  /** Leave the local anvil running after the demo (to run `receipt verify --rpc`). */
  keepChain?: boolean;
};

/** `chaoscore demo [--data-dir dir] [--database-url url] [--rpc url --key keystore] [--keep-chain]`. */
export async function runDemo(globals: Globals, opts: DemoOptions): Promise<void> {
  const started = performance.now();
  const keep = globals.dataDirExplicit;
  const dir = keep ? globals.dataDir : await mkdtemp(join(tmpdir(), "chaoscore-demo-"));
  const paths = dataPaths(dir);
  if (keep && ((await isInitialized(dir)) || existsSync(paths.pgdata))) {
    throw new UsageError(`${dir} already holds ChaosCore data; the demo needs a fresh directory`);
  }
  if ((opts.rpc === undefined) !== (opts.key === undefined)) {
    throw new UsageError("--rpc and --key go together: a chain and a funded key on it");
  }
  if (opts.databaseUrl === undefined && (process.env.DATABASE_URL ?? "") !== "") {
    info("(DATABASE_URL is set; the demo uses PGlite unless --database-url is given)");
  }

  let n = 0;
  const step = async <T>(label: string | ((result: T) => string), fn: () => T | Promise<T>) => {
    const t = performance.now();
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      const text = typeof label === "string" ? label : "step";
      info(`✗ step ${n + 1} failed: ${text}`);
      throw error;
    }
    const text = typeof label === "string" ? label : label(result);
    n++;
    out(`${String(n).padStart(3)}. ${formatDuration(performance.now() - t).padStart(8)}  ${text}`);
    return result;
  };

  out("ChaosCore demo: a governance agent, end to end, on a chain");
  out();
  const open: { db?: Db; engine?: Engine; anvil?: AnvilInstance; client?: EthereumClient } = {};
  const schema =
    opts.databaseUrl === undefined ? undefined : `chaoscore_demo_${randomBytes(6).toString("hex")}`;
  let keptAnvil: { rpcUrl: string; pid: number | undefined } | undefined;
  try {
    // ---- the chain -------------------------------------------------------------------------
    const chain = await step(
      (c) =>
        opts.rpc === undefined
          ? `start a local anvil (chain ${c.chainId}) at ${c.rpcUrl}`
          : `connect to ${opts.rpc} (chain ${c.chainId}) as ${c.signer.address}`,
      async () => {
        let rpcUrl = opts.rpc;
        let signer: ChainSigner;
        if (rpcUrl === undefined && opts.keepChain === true) {
          const detached = await startDetachedAnvil();
          rpcUrl = detached.rpcUrl;
          keptAnvil = detached;
          signer = LocalSigner.fromPrivateKey(ANVIL_DEV_KEY);
        } else if (rpcUrl === undefined) {
          open.anvil = await startAnvil();
          rpcUrl = open.anvil.rpcUrl;
          signer = LocalSigner.fromPrivateKey(open.anvil.accounts[0]?.privateKey as string);
        } else {
          signer = await loadKeystore({ path: opts.key as string });
        }
        open.client = await EthereumClient.connect({ rpcUrl, pollIntervalMs: 50 });
        return { rpcUrl, signer, chainId: open.client.chainId };
      },
    );
    const client = open.client as EthereumClient;
    const contracts: ChaosCoreContracts = await step(
      (c) =>
        `deploy IdentityRegistry, CheckpointAnchor, RewardToken, RewardDistributor (anchor at ${shortHex(c.anchor.address, 4)})`,
      async () => {
        const deployments = await deployContracts(client, chain.signer, { dir });
        return openContracts(client, deployments, chain.signer);
      },
    );

    // ---- keys, database, engine --------------------------------------------------------------
    const tee = MockTeeProvider.create();
    const keys = {
      agent: Uint8Array.from(randomBytes(32)),
      evaluator: Uint8Array.from(randomBytes(32)),
      operator: Uint8Array.from(randomBytes(32)),
    };
    const { generateNoteKey } = await import("@chaoscore/core");
    const logKey = generateNoteKey(DEFAULT_ORIGIN);
    const log = { id: "default", origin: DEFAULT_ORIGIN, ...logKey };
    const e = await step(
      schema === undefined
        ? `open PGlite in ${paths.pgdata}; the log trusts the mock TEE root ${shortHex(tee.trustedRoots[0] as string, 4)}`
        : `open Postgres (fresh schema ${schema}); the log trusts the mock TEE root`,
      async () => {
        await mkdir(dir, { recursive: true });
        open.db =
          schema === undefined
            ? await openDatabase({ databaseUrl: null, dataDir: paths.pgdata })
            : await openDatabase({ databaseUrl: opts.databaseUrl, schema });
        open.engine = await createEngine({
          db: open.db,
          chainId: chain.chainId,
          log,
          attestation: { mode: "optional", trustedRoots: tee.trustedRoots },
          chain: {
            client,
            contracts: { anchor: contracts.anchor, identity: contracts.identity },
            signer: chain.signer,
            chainId: chain.chainId,
            confirmations: 1,
          },
        });
        return open.engine;
      },
    );
    const anchoring = e.anchoring;
    if (anchoring === undefined) throw new Error("the engine has no anchoring service");
    const chainId = chain.chainId;
    const agent = privateKeyToAddress(keys.agent);
    const evaluator = privateKeyToAddress(keys.evaluator);
    const operator = privateKeyToAddress(keys.operator);
    await step(
      `register the governance agent ${shortHex(agent, 4)}, the evaluator ${shortHex(evaluator, 4)} and the studio operator ${shortHex(operator, 4)}`,
      async () => {
        const reg = (k: Uint8Array, c: AgentCard) =>
          e.registry.register(signRegistration({ privateKey: k, chainId, card: c }));
        await reg(
          keys.agent,
          card("Proposal analyst", "Simulates and votes on DAO proposals", [
            "governance.simulate",
            "governance.vote",
          ]),
        );
        await reg(
          keys.evaluator,
          card("Vote reviewer", "Evaluates governance votes", ["governance.evaluate"]),
        );
        await reg(
          keys.operator,
          card("Governance studio", "Operates the governance studio", ["studio.operate"]),
        );
      },
    );
    await step(
      (r) => `anchor the agent cards in the IdentityRegistry (${r.length} cards on chain)`,
      () => anchoring.anchorAgents({ wait: true }),
    );

    // ---- the governance task ------------------------------------------------------------------
    const proposal = { id: "PIP-7", kind: "grant", grant: 25000, recipient: "ecosystem fund" };
    const dao = { treasury: 100000, monthlyBurn: 3000 };
    const run = await step(
      (r) =>
        `simulate ${proposal.id} in the QuickJS sandbox, attested by the mock TEE: runway ${r.result.output && (r.result.output as { runwayOk: boolean }).runwayOk ? "ok" : "short"}, measurement ${shortHex(r.result.measurement, 4)}`,
      async () => {
        const code = await readFile(SIMULATION, "utf8");
        return executeAttested(
          code,
          { treasury: dao.treasury, grant: proposal.grant, monthlyBurn: dao.monthlyBurn },
          { provider: tee, nonce: `0x${randomBytes(16).toString("hex")}`, seed: proposal.id },
        );
      },
    );
    const base = { privateKey: keys.agent, chainId, studio: "governance", task: proposal.id };
    const simulated = await step(
      (r) => `the agent signs governance.simulate carrying the attestation → leaf ${r.leafIndex}`,
      () => {
        const { entry, payload } = signAction({
          ...base,
          actionType: "governance.simulate",
          nonce: 1,
          payload: { proposal, dao, result: run.result.output },
          attestationHash: run.attestationHash,
        });
        return e.agency.recordAction({ entry, payload, attestation: run.quote });
      },
    );
    const runwayOk = (run.result.output as { runwayOk: boolean }).runwayOk;
    const vote = await step(
      (r) =>
        `the agent signs governance.vote "${runwayOk ? "for" : "against"}", parent = the simulation → leaf ${r.leafIndex}`,
      () => {
        const { entry, payload } = signAction({
          ...base,
          actionType: "governance.vote",
          nonce: 2,
          parents: [simulated.id],
          payload: {
            proposal: proposal.id,
            choice: runwayOk ? "for" : "against",
            reason: "the simulated runway stays positive",
          },
        });
        return e.agency.recordAction({ entry, payload });
      },
    );
    const outcome = await step(
      (r) => `the evaluator signs the vote's outcome: success → leaf ${r.leafIndex}`,
      () => {
        const { entry, metrics } = signOutcome({
          privateKey: keys.evaluator,
          chainId,
          action: vote.id,
          status: "success",
          nonce: 1,
          result: { tallied: "for", matched: true },
          metrics: { score: 0.92 },
        });
        return e.agency.recordOutcome({ entry, metrics });
      },
    );
    const reputation = new ReputationComputer({ db: e.db, preTrusted: [evaluator] });
    await step(
      (s) =>
        `reputation of the agent updated from the evaluation: ${s.value.toFixed(3)} (confidence ${s.confidence.toFixed(2)}, ${s.samples} sample)`,
      async () => {
        await reputation.applyOutcome({ id: outcome.id });
        return reputation.get(agent);
      },
    );

    // ---- anchoring and rewards ------------------------------------------------------------------
    const anchored = await step(
      (a) =>
        `anchor the checkpoint (size ${a.size}) with its consistency proof: tx ${shortHex(a.txHash ?? "0x", 4)}, block ${a.blockNumber}, ${a.status}`,
      async () => {
        const record = await anchoring.anchorNow({ wait: true });
        if (record === null) throw new Error("nothing to anchor");
        return record;
      },
    );
    await step(
      (p) =>
        `pay the agent 10 CHAOS through the RewardDistributor (tx ${shortHex(p.txHash, 4)}), logged as reward.payout → leaf ${p.leafIndex}`,
      async () => {
        const studio = studioIdOf("governance");
        await (await contracts.distributor.createStudio(studio, chain.signer.address)).wait();
        await (await contracts.token.mint(chain.signer.address, 1000n)).wait();
        await (await contracts.token.approve(contracts.distributor.address, 1000n)).wait();
        await (await contracts.distributor.fund(studio, 1000n)).wait();
        const rewards = new RewardService({
          db: e.db,
          agency: e.agency,
          registry: e.registry,
          client,
          distributor: contracts.distributor,
          operator: { privateKey: keys.operator },
          chainId,
        });
        return rewards.pay({
          studio: "governance",
          payoutId: `${proposal.id}-round-1`,
          recipients: [{ agent, amount: 10n }],
        });
      },
    );

    // ---- the receipt ------------------------------------------------------------------------------
    const receipt = await step(
      (r) =>
        `build the receipt of the vote: entries, proofs, checkpoint ${r.anchor === null ? "(not anchored!)" : `anchored in block ${r.anchor.blockNumber}`}, outcome`,
      () => e.agency.getReceipt(vote.id),
    );
    if (receipt.anchor === null)
      throw new Error(`the receipt carries no anchor (anchored size ${anchored.size})`);
    const text = `${JSON.stringify(receipt, null, 2)}\n`;
    const file = join(dir, "receipt.json");
    await writeFile(file, text);
    await step(
      "verify the receipt offline, with only the receipt and the log's verifier key ✓",
      () => verifyReceipt(text, log.verifierKey),
    );
    await step(
      (a) =>
        `verify its anchor on chain ${a?.chainId}: checkpoint ${a?.index} of the log holds its size and root ✓`,
      () => verifyReceiptAnchor(text, { client }),
    );
    await step(
      (code) => `tamper one byte (the vote's choice): verification fails ✗ ${code}`,
      () => {
        const bytes = Buffer.from(text, "utf8");
        const at = bytes.indexOf('"choice": "') + '"choice": "'.length;
        bytes[at] = (bytes[at] ?? 0) ^ 0x01;
        try {
          verifyReceipt(bytes, log.verifierKey);
        } catch (error) {
          if (isChaosCoreError(error)) return error.code;
          throw error;
        }
        throw new Error("the tampered receipt verified: this is a bug");
      },
    );

    if (schema === undefined) {
      await writeLogKey(dir, log.signerKey);
      await writeConfig(dir, {
        format: CONFIG_FORMAT,
        chainId: chainId.toString(),
        log: { id: log.id, origin: log.origin, verifierKey: log.verifierKey },
      });
    }
    out();
    out(`data        ${dir} (config.json, log.key, pgdata/, deployments/, receipt.json)`);
    out(`log key     ${log.verifierKey}`);
    if (keptAnvil !== undefined) {
      out(
        `chain       ${chain.rpcUrl} (anvil pid ${keptAnvil.pid}, left running: kill it when done)`,
      );
      out(
        `verify      chaoscore receipt verify ${file} --log-key ${log.verifierKey} --rpc ${chain.rpcUrl}`,
      );
    } else if (opts.rpc !== undefined) {
      out(
        `verify      chaoscore receipt verify ${file} --log-key ${log.verifierKey} --rpc ${opts.rpc}`,
      );
    } else {
      out("chain       stopped (use --keep-chain to leave it running for `receipt verify --rpc`)");
    }
    out(`took        ${formatDuration(performance.now() - started)}`);
    out(`RECEIPT ${receiptHash(receipt)} ${file}`);
  } finally {
    await open.engine?.close();
    await defaultSandbox().close();
    if (open.db !== undefined) {
      if (schema !== undefined) await open.db.exec(`DROP SCHEMA ${schema} CASCADE`);
      await open.db.close();
    }
    open.client?.close();
    // The data dir holds the receipt the last line names: it is kept.
    await open.anvil?.stop();
  }
}

/** Anvil's first development key (public test key, funded on every anvil). */
const ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === "object" && address !== null ? address.port : 0),
      );
    });
  });
}

/** An anvil that outlives the demo (for `receipt verify --rpc` afterwards). */
async function startDetachedAnvil(): Promise<{ rpcUrl: string; pid: number | undefined }> {
  const port = await freePort();
  const args = ["--host", "127.0.0.1", "--port", String(port), "--mnemonic", ANVIL_MNEMONIC];
  const child = spawn(anvilBinary(), args, { detached: true, stdio: "ignore" });
  child.unref();
  const rpcUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      if (res.ok) return { rpcUrl, pid: child.pid };
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      throw new Error(`anvil did not answer on ${rpcUrl}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
