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
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RewardService } from "@chaoscore/anchoring";
import {
  type AnvilInstance,
  anvilAccounts,
  type ChainSigner,
  type ChaosCoreContracts,
  deployContracts,
  EthereumClient,
  LocalSigner,
  loadKeystore,
  openContracts,
  startAnvil,
  startDetachedAnvil,
  studioIdOf,
  verifyReceiptAnchor,
} from "@chaoscore/chain";
import {
  AGENT_CARD_FORMAT,
  type AgentCard,
  type Hex,
  isChaosCoreError,
  privateKeyToAddress,
  signRegistration,
  verifyReceipt,
} from "@chaoscore/core";
import { createNodeServices, type Engine } from "@chaoscore/engine";
import type { Db } from "@chaoscore/log";
import { logReputationEpoch } from "@chaoscore/reputation";
import { defaultSandbox, MockTeeProvider } from "@chaoscore/sandbox";
import {
  CONFIG_FORMAT,
  DEFAULT_ORIGIN,
  dataPaths,
  isInitialized,
  writeConfig,
  writeLogKey,
} from "../data-dir.js";
import { openNode } from "../node-config.js";
import { formatDuration, info, out, shortHex, UsageError } from "../output.js";
import type { Globals } from "../program.js";
import { demoTrustPolicy, startDemoWitnesses, verifyUnderPolicy } from "./demo-witnesses.js";
import { runGovernanceDemo } from "./governance-demo.js";
import { receiptHash } from "./receipt.js";

/** How the demo names the governance studio's steps. */
const GOVERNANCE_STEPS: Record<string, string> = {
  propose: "the operator signs the proposal (studio.governance.propose)",
  tasks: "the operator opens and assigns an analysis task per agent",
  submit:
    "the agent simulates the proposal in the QuickJS sandbox, attested by the mock TEE, and submits it with the quote",
  vote: "the agent signs its vote",
  tally: "the operator signs the tally",
  execute: "the operator executes the proposal on the mock DAO",
  evaluate: "the evaluator signs the outcome of the agent's recommendation; reputation updates",
  reward: "the operator pays the reward through the RewardDistributor (ERC-20) and logs it",
};

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
      info(`✗ step ${n + 1} failed${typeof label === "string" ? `: ${label}` : ""}`);
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
  let witnesses: Awaited<ReturnType<typeof startDemoWitnesses>> | undefined;
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
          // Anvil's first development account: a public test key, funded on every anvil.
          signer = LocalSigner.fromPrivateKey(anvilAccounts(1)[0]?.privateKey as string);
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
      // Signs the reward.payout actions (its own nonce sequence, apart from the operator's steps).
      treasurer: Uint8Array.from(randomBytes(32)),
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
        // The node the data dir's config.json below describes (as `serve` opens it, it signs
        // for deploymentAddress(log key)), on PGlite or a fresh Postgres schema.
        const node = await openNode(
          {
            chainId: chain.chainId.toString(),
            log,
            database:
              schema === undefined
                ? { dataDir: paths.pgdata }
                : { url: opts.databaseUrl as string, schema },
            attestation: { trustedRoots: [...tee.trustedRoots] },
          },
          {
            chain: {
              client,
              contracts: { anchor: contracts.anchor, identity: contracts.identity },
              signer: chain.signer,
              chainId: chain.chainId,
              confirmations: 1,
            },
          },
        );
        open.db = node.db;
        open.engine = node.engine;
        return node.engine;
      },
    );
    const anchoring = e.anchoring;
    if (anchoring === undefined) throw new Error("the engine has no anchoring service");
    witnesses = await step(
      (w) =>
        `start ${w.witnesses.length} C2SP witnesses on loopback (${w.witnesses.map((x) => x.url.replace("http://", "")).join(", ")}); each new checkpoint is sent to them`,
      () => startDemoWitnesses(e.log),
    );
    const chainId = chain.chainId;
    const agent = privateKeyToAddress(keys.agent);
    const evaluator = privateKeyToAddress(keys.evaluator);
    const operator = privateKeyToAddress(keys.operator);
    await step(
      `register the governance agent ${shortHex(agent, 4)}, an evaluator, the studio's operator and treasurer (each signs its card)`,
      async () => {
        const reg = (k: Uint8Array, c: AgentCard) =>
          e.registry.register(
            signRegistration({
              privateKey: k,
              chainId,
              verifyingContract: e.registry.domain.verifyingContract,
              card: c,
            }),
          );
        await reg(
          keys.agent,
          card("Proposal analyst", "Simulates and votes on DAO proposals", [
            "governance",
            "governance.simulate",
            "governance.vote",
          ]),
        );
        await reg(
          keys.treasurer,
          card("Studio treasurer", "Pays the studio's rewards and logs them", ["studio.rewards"]),
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

    // ---- the governance studio ------------------------------------------------------------------
    const rewards = new RewardService({
      db: e.db,
      agency: e.agency,
      registry: e.registry,
      client,
      distributor: contracts.distributor,
      operator: { privateKey: keys.treasurer },
      chainId,
    });
    // Reputation and the studios as every node assembles them; the evaluator is pre-trusted.
    const { reputation, studios } = createNodeServices(e, { preTrusted: [evaluator], rewards });
    await step(
      'create the Governance Studio "governance": a mock DAO (treasury 1,000,000), attested simulations required, 10 CHAOS per good recommendation, budget funded in the RewardDistributor',
      async () => {
        const studioId = studioIdOf("governance");
        await (await contracts.distributor.createStudio(studioId, chain.signer.address)).wait();
        await (await contracts.token.mint(chain.signer.address, 1000n)).wait();
        await (await contracts.token.approve(contracts.distributor.address, 1000n)).wait();
        await (await contracts.distributor.fund(studioId, 1000n)).wait();
        await studios.governance.createStudio({
          id: "governance",
          name: "Mock DAO",
          operator,
          dao: {
            treasury: 1_000_000,
            monthlyBurn: 20_000,
            parameters: { quorum: 0.5, votingPeriodSeconds: 3600, maxGrant: 200_000 },
            grantsPaid: 0,
          },
          rewardPolicy: { kind: "fixed", budget: "1000", amountPerSuccess: "10" },
        });
        await studios.studios.addMember("governance", evaluator, ["evaluator"]);
        await studios.studios.addMember("governance", agent, ["agent"]);
      },
    );
    const proposal = {
      id: "PIP-7",
      title: "Fund the indexer team",
      kind: "grant" as const,
      recipient: `0x${"ab".repeat(20)}` as Hex,
      amount: 100_000,
      purpose: "a year of indexer maintenance",
    };
    let last = performance.now();
    const run = await step(
      (r) =>
        `proposal ${proposal.id} done: ${r.tally.passed ? "passed" : "rejected"} (${r.tally.for} for, ${r.tally.against} against), treasury ${r.daoBefore.treasury} → ${r.daoAfter.treasury}, ${r.recorded.length} signed actions and outcomes in the log`,
      () =>
        // The demo's client: it holds the keys and signs each step (governance-demo.ts).
        runGovernanceDemo(studios.governance, {
          studio: "governance",
          proposal,
          chainId,
          verifyingContract: e.agency.verifyingContract,
          operator: keys.operator,
          evaluator: keys.evaluator,
          agent: keys.agent,
          provider: tee,
          onStep: (name) => {
            const now = performance.now();
            out(
              `     ${formatDuration(now - last).padStart(8)}    · ${GOVERNANCE_STEPS[name] ?? name}`,
            );
            last = now;
          },
        }),
    );
    const mine = run;
    await step(
      (sc) =>
        `reputation of the agent from the evaluation (${mine.evaluation.verdict}): ${sc.value.toFixed(3)} in studio:governance (confidence ${sc.confidence.toFixed(2)}, ${sc.samples} sample)`,
      () => reputation.get(agent, "studio:governance"),
    );
    await step(
      (r) =>
        `reputation epoch ${r.epoch.epoch}: EigenTrust over the raters, ${r.epoch.size} scores committed as one Merkle root ${shortHex(r.epoch.root, 4)}, logged as reputation.epoch → leaf ${r.logged.leafIndex}`,
      async () => {
        const epoch = await reputation.runEpoch();
        const state = (await e.registry.signingState([operator])).get(operator);
        const logged = await logReputationEpoch(
          e.agency,
          { privateKey: keys.operator, nonce: (state?.actionNonce ?? 0n) + 1n },
          epoch,
        );
        return { epoch, logged };
      },
    );
    await step(
      () =>
        `reward paid on chain: the agent holds ${mine.reward?.amount ?? 0} CHAOS (payout logged as an action)`,
      async () => {
        const balance = await contracts.token.balanceOf(agent);
        if (mine.reward !== null && balance !== BigInt(mine.reward.amount)) {
          throw new Error(`the agent holds ${balance}, expected ${mine.reward.amount}`);
        }
        return balance;
      },
    );
    const demoWitnesses = witnesses;
    await step(
      (cosigned) =>
        `the latest checkpoint is cosigned by ${cosigned.length} witnesses (tlog-cosignature/v1): ${cosigned.join(", ")}`,
      async () => {
        const latest = await e.log.latestCheckpoint();
        if (latest === undefined) throw new Error("no checkpoint published");
        const outcomes = await demoWitnesses.service.witness(latest);
        return outcomes.filter((o) => o.status === "cosigned").map((o) => o.witness.split("+")[0]);
      },
    );
    const anchored = await step(
      (a) =>
        `anchor the checkpoint (size ${a.size}) with its consistency proof: tx ${shortHex(a.txHash ?? "0x", 4)}, block ${a.blockNumber}, ${a.status}`,
      async () => {
        const record = await anchoring.anchorNow({ wait: true });
        if (record === null) throw new Error("nothing to anchor");
        return record;
      },
    );

    // ---- the receipt ------------------------------------------------------------------------------
    const receipt = await step(
      (r) =>
        `build the receipt of the agent's attested simulation: entries, proofs, the quote, the evaluation, checkpoint ${r.anchor === null ? "(not anchored!)" : `anchored in block ${r.anchor.blockNumber}`}`,
      () => e.agency.getReceipt(mine.submitAction),
    );
    if (receipt.anchor === null)
      throw new Error(`the receipt carries no anchor (anchored size ${anchored.size})`);
    const text = `${JSON.stringify(receipt, null, 2)}\n`;
    const file = join(dir, "receipt.json");
    await writeFile(file, text);
    await step(
      (v) =>
        `verify the receipt offline with only the log's key and the TEE root: signatures, proofs, outcome, attestation ${v.attestation} ✓`,
      () =>
        verifyReceipt(text, log.verifierKey, { attestation: { trustedRoots: tee.trustedRoots } }),
    );
    await step(
      (a) =>
        `verify its anchor on chain ${a?.chainId}: checkpoint ${a?.index} of the log holds its size and root ✓`,
      () =>
        // The demo trusts the contract it deployed itself, never the one the receipt names.
        verifyReceiptAnchor(text, {
          client,
          trusted: [{ chainId: client.chainId.toString(), contract: contracts.anchor.address }],
          trustedLogKey: log.verifierKey,
        }),
    );
    const policy = demoTrustPolicy(log.verifierKey, demoWitnesses.witnesses, {
      chainId: client.chainId.toString(),
      contract: contracts.anchor.address,
    });
    const policyFile = join(dir, "policy.json");
    await writeFile(policyFile, `${JSON.stringify(policy, null, 2)}\n`);
    await step(
      (v) =>
        `verify it under the trust policy ${policyFile}: log key, ${v.witnesses.verified} of ${policy.witnesses.keys.length} witnesses cosigned (quorum ${v.witnesses.required}), anchor contract trusted ✓`,
      () => verifyUnderPolicy(text, policy, tee.trustedRoots),
    );
    await step(
      (code) =>
        `tamper one byte (the task's id in the signed action): verification fails ✗ ${code}`,
      () => {
        const bytes = Buffer.from(text, "utf8");
        const at = bytes.indexOf('"task": "') + '"task": "'.length;
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
    out(
      `policy      ${policyFile} (log key, ${policy.witnesses.keys.length} witness keys, quorum ${policy.witnesses.quorum}, anchor contract)`,
    );
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
    await witnesses?.close();
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
