/**
 * The single-writer duties of `chaoscore serve` (issue 18): with several
 * gateways on one Postgres server, only the leader (docs/scaling.md) anchors
 * checkpoints on chain and submits them to witnesses; every gateway accepts
 * writes. Leadership comes from a {@link LeaderLease}: the Postgres advisory
 * lock on a server, always this process on PGlite.
 * @module
 */

import type { AnchoringService } from "@chaoscore/anchoring";
import { ChaosCoreError } from "@chaoscore/core";
import type { LeaderLease } from "@chaoscore/log";

/** Something that runs while this process leads. */
export type LeaderDuty = {
  readonly name: string;
  start(): void;
  stop(): Promise<void> | void;
};

/** The duties of a running lease; `stop` ends them and gives leadership up. */
export type LeaderDuties = {
  readonly lease: LeaderLease;
  stop(): Promise<void>;
};

/**
 * Starts `duties` whenever `lease` makes this process the leader and stops
 * them when it loses leadership; transitions run one at a time, in order.
 * Prints `LEADER acquired` / `LEADER lost` lines through `say`. With no
 * duties, the lease is not started (the process never leads).
 * @example
 * ```ts
 * const duties = startLeaderDuties(lease, [{ name: "anchoring", start: …, stop: … }], info);
 * await duties.stop(); // on shutdown
 * ```
 */
export function startLeaderDuties(
  lease: LeaderLease,
  duties: readonly LeaderDuty[],
  say: (line: string) => void,
): LeaderDuties {
  let chain: Promise<void> = Promise.resolve();
  let running = false;
  const transition = (leader: boolean) => {
    chain = chain.then(async () => {
      if (leader === running) return;
      running = leader;
      if (leader) {
        say(
          `LEADER acquired at ${new Date().toISOString()} (${lease.kind}): ${duties.map((d) => d.name).join(", ") || "no duties"}`,
        );
        for (const d of duties) d.start();
      } else {
        for (const d of duties) await Promise.resolve(d.stop()).catch(() => {});
        say(`LEADER lost at ${new Date().toISOString()}`);
      }
    });
  };
  // A process with nothing to lead (a gateway with --anchor-every 0 and no witnesses) does not
  // compete: the lease goes to one that anchors (another gateway, or a `chaoscore anchor` worker).
  if (duties.length === 0) return { lease, stop: async () => {} };
  const off = lease.onChange(transition);
  lease.start();
  return {
    lease,
    async stop() {
      await lease.stop();
      off();
      transition(false);
      await chain;
    },
  };
}

/**
 * `POST /v1/log/anchors` on any gateway: the leader anchors now; a follower
 * does not send a transaction of its own (one anchoring writer) but waits
 * until the leader's schedule has anchored the tree as it is now — `tree()`:
 * the active shard and its size — and answers that record of the shard
 * (final with `wait`, else live).
 * @throws ChaosCoreError CHAIN_TIMEOUT when the leader has not anchored it in `timeoutMs`.
 */
export function anchorNowThroughLeader(
  lease: LeaderLease,
  anchoring: Pick<AnchoringService, "anchorNow" | "records">,
  tree: () => Promise<{ log: string; size: number }>,
  pollMs = 500,
): Pick<AnchoringService, "anchorNow"> {
  return {
    async anchorNow(options = {}) {
      if (lease.isLeader()) return anchoring.anchorNow(options);
      // the active shard as it is now: after a rotation, shard 0's old anchors do not cover it
      const { log, size: wanted } = await tree();
      if (wanted === 0) return null;
      const deadline = Date.now() + (options.timeoutMs ?? 120_000);
      for (;;) {
        const records = await anchoring.records(log);
        const covering = records.find(
          (r) =>
            r.size >= wanted &&
            (options.wait === true ? r.status === "final" : r.status !== "dropped"),
        );
        if (covering !== undefined) return covering;
        if (lease.isLeader()) return anchoring.anchorNow(options);
        if (Date.now() >= deadline) {
          throw new ChaosCoreError(
            "CHAIN_TIMEOUT",
            `the leader has not anchored the tree of size ${wanted} in time (this gateway follows)`,
            { details: { size: wanted } },
          );
        }
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
  };
}
