/**
 * The single-writer duties of `chaoscore serve` (issue 18): with several
 * gateways on one Postgres server, only the leader (docs/scaling.md) anchors
 * checkpoints on chain and submits them to witnesses; every gateway accepts
 * writes. Leadership comes from a {@link LeaderLease}: the Postgres advisory
 * lock on a server, always this process on PGlite.
 * @module
 */
import type { LeaderLease } from "@chaoscore/engine";

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
 * Prints `LEADER acquired` / `LEADER lost` lines through `say`.
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
