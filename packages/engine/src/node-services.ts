/**
 * The services a node runs over its engine: reputation, and the studios with
 * reputation as their port (and rewards, when the node pays them).
 * @module
 */
import { ReputationComputer } from "@chaoscore/reputation";
import { createStudios, type RewardPort, type Studios } from "@chaoscore/studios";
import type { Engine } from "./engine.js";

/** Options of {@link createNodeServices}. */
export type NodeServicesOptions = {
  /** Pre-trusted raters of EigenTrust (besides those stored in the database). */
  preTrusted?: readonly string[];
  /** Pays studio rewards (on chain); without it reward transitions are refused. */
  rewards?: RewardPort;
};

/** Reputation and the studios over one engine. */
export type NodeServices = { reputation: ReputationComputer; studios: Studios };

/**
 * Assembles reputation and the studios over `engine`. The pre-trusted raters
 * are also stored (shared by every process): the studios' port reads them
 * before weighting an outcome.
 */
export function createNodeServices(
  engine: Engine,
  options: NodeServicesOptions = {},
): NodeServices {
  const reputation = new ReputationComputer({
    db: engine.db,
    preTrusted: [...(options.preTrusted ?? [])],
  });
  const studios = createStudios(engine, {
    reputation: {
      applyOutcome: async (o) => {
        await reputation.loadPreTrusted();
        return reputation.applyOutcome({ id: o.outcomeId });
      },
      get: async (agent, dimension) => {
        await reputation.loadPreTrusted();
        return (await reputation.get(agent, dimension)).value;
      },
    },
    ...(options.rewards === undefined ? {} : { rewards: options.rewards }),
  });
  return { reputation, studios };
}
