import type { AgentRegistry, Db, ProofOfAgency } from "@chaoscore/log";
import type { SecureExecutionEnvironment } from "@chaoscore/sandbox";
import { GovernanceStudio } from "./governance-studio.js";
import type { ReputationPort, RewardPort, StudioKind } from "./model.js";
import { StudioManager } from "./studio-manager.js";
import { TaskOrchestrator } from "./task-orchestrator.js";

/** Options of {@link createStudios}: the ports the engine wires. */
export type StudiosOptions = {
  /** Reputation (read for assignment, written on evaluation); optional. */
  reputation?: ReputationPort;
  /** Rewards (paid on reward transitions); without it, reward transitions are refused. */
  rewards?: RewardPort;
  /** Extra studio kinds. */
  kinds?: readonly StudioKind[];
  /** The governance simulation code (default: this package's assets/governance/simulate.js). */
  simulationCode?: string;
  sandbox?: SecureExecutionEnvironment;
  /** The clock of deadlines and voting periods. */
  now?: () => Date;
};

/** The studio component: studios, tasks and the governance studio, over one engine. */
export type Studios = {
  studios: StudioManager;
  tasks: TaskOrchestrator;
  governance: GovernanceStudio;
};

/**
 * Builds the studio component over an engine, with the reputation and reward ports.
 * @example
 * ```ts
 * const { studios, tasks, governance } = createStudios(engine, { reputation, rewards });
 * ```
 */
export function createStudios(
  engine: { db: Db; registry: AgentRegistry; agency: ProofOfAgency },
  options: StudiosOptions = {},
): Studios {
  const now = options.now === undefined ? {} : { now: options.now };
  const studios = new StudioManager({
    db: engine.db,
    registry: engine.registry,
    ...(options.kinds === undefined ? {} : { kinds: options.kinds }),
    ...now,
  });
  const tasks = new TaskOrchestrator({
    db: engine.db,
    agency: engine.agency,
    registry: engine.registry,
    studios,
    ...(options.reputation === undefined ? {} : { reputation: options.reputation }),
    ...(options.rewards === undefined ? {} : { rewards: options.rewards }),
    ...now,
  });
  const governance = new GovernanceStudio({
    db: engine.db,
    agency: engine.agency,
    registry: engine.registry,
    studios,
    tasks,
    ...(options.simulationCode === undefined ? {} : { simulationCode: options.simulationCode }),
    ...(options.sandbox === undefined ? {} : { sandbox: options.sandbox }),
    ...now,
  });
  return { studios, tasks, governance };
}
