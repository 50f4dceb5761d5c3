/**
 * `chaoscore anchor`: anchors the log's current checkpoint (and agent cards)
 * on the configured chain once. See docs/anchoring.md.
 * @module
 */

import type { AgentAnchorRecord, AnchorRecord } from "@chaoscore/anchoring";
import type { ChaosCoreContracts } from "@chaoscore/chain";
import { withEngine } from "../engine-context.js";
import { loadNodeConfig } from "../node-config.js";
import { info, out, printFields, printJson } from "../output.js";
import type { Globals } from "../program.js";
import { untilStopSignal } from "../stop-signals.js";
import { openChain } from "./chain.js";
import { anchorRemote } from "./remote.js";
import { startLeaderDuties } from "./serve-leader.js";

type AnchorOptions = {
  wait?: boolean;
  agents?: boolean;
  confirmations?: number;
  every?: number;
  json?: boolean;
};

/** Runs `fn` with an anchoring service over the data dir's engine and the configured chain. */
async function withAnchoring<T>(
  dataDir: string,
  confirmations: number | undefined,
  fn: (service: import("@chaoscore/anchoring").AnchoringService) => Promise<T>,
): Promise<T> {
  const chain = await openChain(dataDir);
  try {
    const { AnchoringService } = await import("@chaoscore/anchoring");
    return await withEngine(dataDir, async ({ engine, db }) => {
      const service = new AnchoringService({
        db,
        log: engine.log,
        // every shard of the family, as serve's anchoring does (one batch per pass)
        family: engine.logs,
        chain: {
          client: chain.client,
          contracts: chain.contracts as ChaosCoreContracts,
          signer: chain.signer,
        },
        ...(confirmations === undefined ? {} : { confirmations }),
      });
      return await fn(service);
    });
  } finally {
    chain.close();
  }
}

function anchorFields(r: AnchorRecord): [string, unknown][] {
  return [
    // the shard (a family anchors every shard; the record is the newest one's)
    ["log", r.logId],
    ["status", r.status],
    ["size", r.size],
    ["root", r.root],
    ["index", r.index],
    ["tx", r.txHash],
    ["block", r.blockNumber === null ? null : `${r.blockNumber} ${r.blockHash ?? ""}`.trim()],
    ["chain", `${r.chainId} contract ${r.contract}`],
  ];
}

function agentLine(r: AgentAnchorRecord): string {
  return `${r.agentId} card v${r.cardVersion} → token ${r.tokenId ?? "?"} (${r.status}${
    r.txHash === null ? "" : `, tx ${r.txHash}`
  })`;
}

/** `chaoscore anchor [--wait] [--agents] [--confirmations n]`. */
export async function runAnchor(
  { dataDir }: Globals,
  opts: AnchorOptions & { gateway?: string; apiKey?: string },
): Promise<void> {
  if (opts.gateway !== undefined) {
    // Through the running server (its data dir is locked): it anchors now and waits for final.
    const { anchor } = await anchorRemote({ ...opts, gateway: opts.gateway });
    if (opts.json === true) return printJson({ checkpoint: anchor });
    if (anchor === null) return out("the log is empty: nothing to anchor");
    return out(
      `✓ checkpoint of size ${anchor.size} anchored through the gateway (${anchor.status}${anchor.txHash === null ? "" : `, tx ${anchor.txHash}`})`,
    );
  }
  if (opts.every !== undefined) return runAnchorSchedule(dataDir, opts.every, opts.confirmations);
  const wait = opts.wait === true;
  const result = await withAnchoring(dataDir, opts.confirmations, async (service) => {
    const agents = opts.agents === true ? await service.anchorAgents({ wait }) : [];
    const checkpoint = await service.anchorNow({ wait });
    return { checkpoint, agents, confirmations: service.confirmations };
  });
  if (opts.json === true) return printJson(result);
  const { checkpoint } = result;
  if (checkpoint === null) out("the log is empty: nothing to anchor");
  else {
    out(
      checkpoint.status === "final"
        ? `✓ checkpoint anchored (final after ${result.confirmations} confirmations)`
        : `✓ checkpoint anchored (${checkpoint.status}; final after ${result.confirmations} confirmations)`,
    );
    printFields(anchorFields(checkpoint), "  ");
  }
  for (const a of result.agents) out(`✓ agent ${agentLine(a)}`);
  if (!wait && checkpoint !== null && checkpoint.status !== "final") {
    info("receipts carry the anchor once it is final: `chaoscore anchor --wait`");
  }
}

/**
 * Anchors one agent's card hash in the IdentityRegistry (after `agent register`).
 * Returns the record, for the caller to print.
 */
export async function anchorAgentCard(
  dataDir: string,
  agentId: string,
): Promise<AgentAnchorRecord | undefined> {
  const [record] = await withAnchoring(dataDir, undefined, (service) =>
    service.anchorAgents({ agents: [agentId], wait: true }),
  );
  if (record !== undefined) info(`✓ card anchored: ${agentLine(record)}`);
  return record;
}

/**
 * `chaoscore anchor --every <seconds>`: the schedule. Reconciles pending
 * anchors (confirmations, reorgs) and anchors the current checkpoint every
 * interval, backing off after RPC failures, until Ctrl-C. On a Postgres
 * server it anchors only while it holds the log's leader lease, which it
 * competes for with the gateways (docs/scaling.md): run several for failover.
 */
async function runAnchorSchedule(
  dataDir: string,
  seconds: number,
  confirmations: number | undefined,
): Promise<void> {
  const { node } = await loadNodeConfig(dataDir);
  const { openLeaderLease } = await import("@chaoscore/log");
  await withAnchoring(dataDir, confirmations, async (service) => {
    const lease = openLeaderLease({
      url: node.database.url,
      name: `${node.log.id}:${node.database.schema ?? ""}`,
      onError: (e) => info(`leader lock: ${(e as Error).message}`),
    });
    const duties = startLeaderDuties(
      lease,
      [
        {
          name: "anchoring",
          start: () => service.start({ intervalMs: seconds * 1000 }),
          stop: () => service.stop(),
        },
      ],
      info,
    );
    info(
      `anchoring every ${seconds} s while leading (reconcile, then anchor the current checkpoint); Ctrl-C stops`,
    );
    await untilStopSignal();
    await duties.stop();
    const report = await service.reconcile();
    info(`stopped; last reconcile: ${JSON.stringify(report)}`);
  });
}
