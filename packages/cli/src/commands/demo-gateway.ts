/**
 * `chaoscore demo --gateway <url> --api-key <key>` (or `--target staging`):
 * the demo's governance flow over HTTP with the TypeScript SDK. Every key is
 * made and kept here; the gateway sees signed entries and signed requests
 * only. Agents register themselves, the operator's API key creates the studio,
 * each step is signed locally, the simulation runs in the gateway's sandbox
 * (attested), the receipt is fetched, verified offline and — once the
 * gateway's anchoring has reached it — linked to its anchor transaction.
 * @module
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type AgentCard,
  type Hex,
  isChaosCoreError,
  privateKeyToAddress,
  signRegistration,
  signStudioEvaluation,
  signStudioGovernance,
  signStudioTransition,
  verifyReceipt,
} from "@chaoscore/core";
import { ChaosCoreClient, type Proposal } from "@chaoscore/sdk";
import { formatDuration, info, out, shortHex, UsageError } from "../output.js";
import { receiptHash } from "./receipt.js";

export type GatewayDemoOptions = {
  gateway?: string;
  apiKey?: string;
  target?: string;
  /** Where to write receipt.json. */
  dir: string;
  /** Seconds to wait for the receipt's anchor (0: do not wait). */
  anchorTimeout: number;
};

/** The staging stack's state file (written by `npm run staging`). */
export const STAGING_STACK_FILE = join(".chaoscore", "staging", "stack.json");

/** The stack file of `--target staging`: in CHAOSCORE_STAGING_DIR (as `npm run staging -- --dir`), if set. */
/** `ChaosCore-Min-Size` beyond any tree (the largest the gateway parses): a read from the primary. */
const PRIMARY_READ_MIN_SIZE = "999999999999999";

const stagingStackFile = () =>
  process.env.CHAOSCORE_STAGING_DIR
    ? join(process.env.CHAOSCORE_STAGING_DIR, "stack.json")
    : STAGING_STACK_FILE;

type Stack = {
  gatewayUrl: string;
  adminKey: string;
  explorerUrl?: string | null;
  /** Every gateway (two since issue 18): then the scale-out part runs (demo-scale.ts). */
  gatewayUrls?: string[];
  shardMaxEntries?: number;
  logs?: Record<string, string | null>;
  anchorEverySeconds?: number;
};

async function readStack(): Promise<Stack> {
  try {
    return JSON.parse(await readFile(stagingStackFile(), "utf8")) as Stack;
  } catch {
    throw new UsageError(
      `no staging stack (${stagingStackFile()} is missing): run \`npm run staging\` first`,
    );
  }
}

function card(name: string, description: string, capabilities: string[]): AgentCard {
  return {
    format: "chaoscore.agent-card/v1",
    name,
    description,
    capabilities,
    framework: "chaoscore-sdk-demo",
    version: "1.0.0",
    endpoints: [],
    codeMeasurement: null,
    owner: null,
  };
}

/** Runs the governance flow against a gateway; the last line is `RECEIPT <hash> <file>`. */
export async function runGatewayDemo(opts: GatewayDemoOptions): Promise<void> {
  const started = performance.now();
  let baseUrl = opts.gateway;
  let apiKey = opts.apiKey ?? process.env.CHAOSCORE_API_KEY;
  let explorerUrl: string | null = null;
  let stack: Stack | undefined;
  if (opts.target !== undefined) {
    if (opts.target !== "staging") throw new UsageError("--target takes: staging");
    stack = await readStack();
    baseUrl = stack.gatewayUrl;
    apiKey ??= stack.adminKey;
    explorerUrl = stack.explorerUrl ?? null;
  }
  if (baseUrl === undefined)
    throw new UsageError("--gateway <url> (or --target staging) is needed");
  if (apiKey === undefined) {
    throw new UsageError("an operator API key is needed: --api-key or CHAOSCORE_API_KEY");
  }
  // The flow reads what it has just written (a tally, an execution preview, a judgement, the reward
  // plan). A gateway that reads a replica may answer such a read from a replica that has not replayed
  // the write yet: a minimum tree size larger than any tree sends every read of this client to the
  // primary (read-your-writes, docs/scaling.md "Read replicas"); a gateway without a replica ignores it.
  const admin = new ChaosCoreClient({
    baseUrl,
    apiKey,
    fetch: (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set("chaoscore-min-size", PRIMARY_READ_MIN_SIZE);
      return fetch(input, { ...init, headers });
    },
  });

  let n = 0;
  const step = async <T>(label: string | ((r: T) => string), fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      info(`✗ step ${n + 1} failed${typeof label === "string" ? `: ${label}` : ""}`);
      throw error;
    }
    n++;
    const text = typeof label === "string" ? label : label(result);
    out(`${String(n).padStart(3)}. ${formatDuration(performance.now() - t).padStart(8)}  ${text}`);
    return result;
  };

  out(`ChaosCore demo over HTTP: the SDK against ${baseUrl}`);
  out();
  const gw = await step(
    (i) =>
      `gateway ready: chain ${i.chainId}, log ${i.log.origin}, ${i.trustedTeeRoots.length} trusted TEE root(s)`,
    async () => {
      await admin.ready();
      return admin.info();
    },
  );
  explorerUrl ??= gw.chain?.explorerUrl ?? null;
  const chainId = BigInt(gw.chainId);
  // Every signature is bound to this deployment (and requests to this gateway's origin).
  const verifyingContract = gw.verifyingContract;
  const keys = {
    agent: crypto.getRandomValues(new Uint8Array(32)),
    evaluator: crypto.getRandomValues(new Uint8Array(32)),
    operator: crypto.getRandomValues(new Uint8Array(32)),
  };
  const who = {
    agent: privateKeyToAddress(keys.agent),
    evaluator: privateKeyToAddress(keys.evaluator),
    operator: privateKeyToAddress(keys.operator),
  };
  const as = {
    agent: admin.with({ agentKey: keys.agent }),
    evaluator: admin.with({ agentKey: keys.evaluator }),
    operator: admin.with({ agentKey: keys.operator }),
  };
  // Each actor counts its own nonces (one sequence per agent for actions and outcomes).
  const nonces = new Map<string, bigint>();
  const nonce = (k: keyof typeof keys) => {
    const next = (nonces.get(k) ?? 0n) + 1n;
    nonces.set(k, next);
    return next;
  };

  await step(
    `three agents register themselves with signed requests: analyst ${shortHex(who.agent, 4)}, evaluator ${shortHex(who.evaluator, 4)}, operator ${shortHex(who.operator, 4)}`,
    async () => {
      const cards = {
        agent: card("Proposal analyst", "Simulates and votes on DAO proposals", [
          "governance",
          "governance.simulate",
          "governance.vote",
        ]),
        evaluator: card("Vote reviewer", "Evaluates governance votes", ["governance.evaluate"]),
        operator: card("Governance studio", "Operates the governance studio", ["studio.operate"]),
      };
      for (const k of ["agent", "evaluator", "operator"] as const) {
        await as[k].registerAgent(
          signRegistration({ privateKey: keys[k], chainId, verifyingContract, card: cards[k] }),
        );
      }
    },
  );

  const studio = `governance-${shortHex(who.operator, 3)
    .slice(2, 8)
    .replace(/[^a-f0-9]/g, "")}${Date.now().toString(36)}`;
  const dao = await step(
    `the operator's API key creates the Governance Studio "${studio}" (mock DAO, attested simulations required) and adds the members`,
    async () => {
      await admin.createStudio({
        id: studio,
        kind: "governance",
        name: "Mock DAO (HTTP demo)",
        operator: who.operator,
        dao: {
          treasury: 1_000_000,
          monthlyBurn: 20_000,
          parameters: { quorum: 0.5, votingPeriodSeconds: 3600, maxGrant: 200_000 },
          grantsPaid: 0,
        },
        rewardPolicy: { kind: "fixed", budget: "1000", amountPerSuccess: "10" },
      });
      await admin.addMember(studio, who.evaluator, ["evaluator"]);
      await admin.addMember(studio, who.agent, ["agent"]);
      // The studio's evaluator is a pre-trusted rater of EigenTrust (as in the local demo).
      const { agents } = await admin.preTrusted();
      await admin.setPreTrusted([...agents, who.evaluator]);
      // Rewards are paid on chain from the studio's budget in the RewardDistributor.
      if (gw.features.rewards === true) await admin.fundStudio(studio, 1000n);
      return admin.dao(studio);
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
  const votingPeriod = Number(
    (dao.parameters as { votingPeriodSeconds?: number } | undefined)?.votingPeriodSeconds ?? 3600,
  );
  let p: Proposal = await step(
    `the operator signs proposal ${proposal.id} (governance.propose)`,
    () =>
      as.operator.propose(
        studio,
        signStudioGovernance({
          privateKey: keys.operator,
          chainId,
          verifyingContract,
          nonce: nonce("operator"),
          studio,
          action: "propose",
          payload: { proposal, votingEndsAt: Math.floor(Date.now() / 1000) + votingPeriod },
        }),
      ),
  );

  const analysis = await admin.analysisTask(studio, proposal.id, who.agent);
  const taskId = analysis.taskId;
  const lastAction = async () => (await admin.getTask(studio, taskId)).lastAction;
  /** A transition of the analysis task, signed by `who` after the task's last action. */
  const taskStep = async (
    who: keyof typeof keys,
    transition: string,
    payload: unknown,
    attestation?: Record<string, unknown>,
  ) =>
    signStudioTransition({
      privateKey: keys[who],
      chainId,
      verifyingContract,
      nonce: nonce(who),
      studio,
      task: taskId,
      transition,
      payload,
      previous: transition === "create" ? null : await lastAction(),
      ...(attestation === undefined ? {} : { attestation: attestation as never }),
    });
  await step(
    `the operator opens the analysis task ${taskId.slice(0, 20)}… and assigns it`,
    async () => {
      await as.operator.transition(
        studio,
        "create",
        await taskStep("operator", "create", analysis.payload),
      );
      await as.operator.transition(
        studio,
        "assign",
        await taskStep("operator", "assign", { agent: who.agent }),
      );
    },
  );
  await as.agent.transition(studio, "start", await taskStep("agent", "start", {}));
  const sim = await step(
    (s) =>
      `the gateway's sandbox simulates the proposal, attested by its TEE: recommendation ${String(s.result.recommendation)}, risk ${String(s.result.riskScore)}`,
    () => as.agent.simulate(studio, taskId, { seed: proposal.id }),
  );
  const submitted = await step(
    (r) =>
      `the agent signs its submission with the quote's hash and submits it: action ${shortHex(r.actionId, 4)}`,
    async () =>
      as.agent.transition(
        studio,
        "submit",
        await taskStep(
          "agent",
          "submit",
          { result: sim.result, execution: sim.execution },
          sim.quote,
        ),
      ),
  );
  const choice = sim.result.recommendation === "approve" ? "for" : "against";
  await step(`the agent signs its vote: ${choice}`, () =>
    as.agent.vote(
      studio,
      signStudioGovernance({
        privateKey: keys.agent,
        chainId,
        verifyingContract,
        nonce: nonce("agent"),
        studio,
        action: "vote",
        payload: { proposal: proposal.id, choice, reason: "simulated in the sandbox" },
        previous: p.actions.propose,
      }),
    ),
  );
  p = await step(
    (r) => `the operator signs the tally: ${r.state}`,
    async () => {
      const current = await admin.proposal(studio, proposal.id);
      return as.operator.tally(
        studio,
        signStudioGovernance({
          privateKey: keys.operator,
          chainId,
          verifyingContract,
          nonce: nonce("operator"),
          studio,
          action: "tally",
          payload: { proposal: proposal.id, ...(current.tally as Record<string, unknown>) },
          previous: p.actions.propose,
        }),
      );
    },
  );
  if (p.state === "passed") {
    p = await step("the operator executes the proposal on the mock DAO", async () => {
      const preview = (await admin.proposal(studio, proposal.id)).execution as {
        before: unknown;
        after: unknown;
      };
      return as.operator.executeProposal(
        studio,
        signStudioGovernance({
          privateKey: keys.operator,
          chainId,
          verifyingContract,
          nonce: nonce("operator"),
          studio,
          action: "execute",
          payload: { proposal: proposal.id, ...preview },
          previous: p.actions.tally as Hex,
        }),
      );
    });
  }
  await step(
    (j) => `the evaluator signs the outcome (${j.verdict}) and the evaluation; reputation updates`,
    async () => {
      const judgement = await admin.judgement(studio, taskId);
      const outcome = signStudioEvaluation({
        privateKey: keys.evaluator,
        chainId,
        verifyingContract,
        nonce: nonce("evaluator"),
        action: submitted.actionId,
        status: judgement.verdict,
        metrics: judgement.metrics,
      });
      const signed = await taskStep("evaluator", "evaluate", {
        verdict: judgement.verdict,
        score: judgement.score,
        reason: `recommendation ${String(judgement.metrics.recommendation)}`,
      });
      await as.evaluator.transition(studio, "evaluate", { ...signed, outcome });
      return judgement;
    },
  );
  if (gw.features.rewards === true) {
    await step(
      (r) =>
        `the operator signs the reward (${r.amount} CHAOS from the plan); the gateway pays it through the RewardDistributor (tx ${shortHex(r.txHash, 4)}) and logs it as reward.payout`,
      async () => {
        const plan = (await admin.proposal(studio, proposal.id)).rewardPlan as {
          task: string;
          amount: string;
        }[];
        const mine = plan.find((r) => r.task === taskId);
        if (mine === undefined) throw new Error(`the reward plan has no entry for ${taskId}`);
        const paid = await as.operator.transition(
          studio,
          "reward",
          await taskStep("operator", "reward", {
            payoutId: `${studio}:${taskId}`,
            amount: mine.amount,
          }),
        );
        const payout = paid.payout as { txHash?: Hex } | undefined;
        return { amount: mine.amount, txHash: payout?.txHash ?? ("0x" as Hex) };
      },
    );
  } else {
    out("     (this gateway has no chain: no reward is paid)");
  }
  const rep = await admin.reputationScore(who.agent, `studio:${studio}`);
  out(
    `     reputation of the agent in studio:${studio}: ${rep.score.value.toFixed(3)} (${rep.score.samples} sample)`,
  );

  // ---- the receipt and its anchor ----------------------------------------------------------------
  const anchorWait = opts.anchorTimeout * 1000;
  const receipt = await step(
    (r) =>
      r.anchor === null
        ? `fetch the receipt of the attested submission (no anchor yet${gw.features.chain ? "" : ": this gateway has no chain"})`
        : `fetch the receipt: its checkpoint is anchored in block ${r.anchor.blockNumber} (tx ${shortHex(r.anchor.txHash, 4)})`,
    async () => {
      const deadline = Date.now() + anchorWait;
      let r = await admin.receipt(submitted.actionId);
      if (r.anchor === null && gw.features.chain && anchorWait > 0) {
        // Ask the gateway to anchor now instead of waiting for its timer (an older gateway
        // without the route, or a rate-limited call, falls back to waiting).
        await admin.anchorNow().catch(() => undefined);
        r = await admin.receipt(submitted.actionId);
      }
      let waited = 0;
      while (r.anchor === null && gw.features.chain && Date.now() < deadline) {
        if (waited % 10 === 0) info(`     waiting for the gateway's anchoring (${waited} s)…`);
        await new Promise((res) => setTimeout(res, 1000));
        waited++;
        r = await admin.receipt(submitted.actionId);
      }
      return r;
    },
  );
  const text = `${JSON.stringify(receipt, null, 2)}\n`;
  const file = join(opts.dir, "receipt.json");
  await writeFile(file, text);
  await step(
    (v) =>
      `verify the receipt offline with the log key and the TEE roots: signatures, proofs, outcome, attestation ${v.attestation} ✓`,
    async () =>
      verifyReceipt(text, gw.log.verifierKey, {
        attestation: { trustedRoots: gw.trustedTeeRoots },
      }),
  );
  await step(
    (code) => `tamper one byte: verification fails ✗ ${code}`,
    async () => {
      const bytes = Buffer.from(text, "utf8");
      const at = bytes.indexOf('"task": "') + '"task": "'.length;
      bytes[at] = (bytes[at] ?? 0) ^ 0x01;
      try {
        verifyReceipt(bytes, gw.log.verifierKey);
      } catch (error) {
        if (isChaosCoreError(error)) return error.code;
        throw error;
      }
      throw new Error("the tampered receipt verified: this is a bug");
    },
  );
  out();
  out(`explorer    ${baseUrl}/explorer/actions/${submitted.actionId}`);
  if (receipt.anchor !== null) {
    out(
      `anchor tx   ${explorerUrl === null ? receipt.anchor.txHash : `${explorerUrl.replace(/\/+$/, "")}/tx/${receipt.anchor.txHash}`}`,
    );
  }
  out(`log key     ${gw.log.verifierKey}`);
  out(`took        ${formatDuration(performance.now() - started)}`);
  if (stack?.gatewayUrls !== undefined && stack.gatewayUrls.length > 1 && apiKey !== undefined) {
    const { runScaleTour } = await import("./demo-scale.js");
    await runScaleTour(
      { ...stack, gatewayUrls: stack.gatewayUrls, adminKey: apiKey },
      { anchorTimeoutSeconds: opts.anchorTimeout },
    );
  }
  out(`RECEIPT ${receiptHash(receipt)} ${file}`);
}
