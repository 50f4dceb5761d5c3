import { type AnchoringChain, AnchoringService } from "@chaoscore/anchoring";
import type { Address } from "@chaoscore/core";
import type { Db } from "@chaoscore/log";
import {
  type AgencyLimits,
  AgentRegistry,
  type AttestationRecordingPolicy,
  LogFamily,
  type OutcomePolicy,
  ProofOfAgency,
  type ShardRotation,
  TransparencyLog,
  useNodeEd25519,
  WorkerSignatureVerifier,
} from "@chaoscore/log";

/** How to assemble the engine. */
export type EngineOptions = {
  db: Db;
  /** The chain id agents sign for (EIP-712 domain). */
  chainId: bigint;
  /**
   * The deployment agents sign for (EIP-712 `verifyingContract`): the
   * IdentityRegistry's address, or `deploymentAddress(id)` without a chain.
   */
  verifyingContract: Address;
  /** The log's identity and its C2SP signed-note keys (shard 0 of the family). */
  log: { id?: string; origin: string; signerKey: string; verifierKey: string };
  /** When the family's active shard is rotated (docs/spec/shards.md); default never. */
  shards?: ShardRotation;
  /** Worker threads for signature recovery; 0 (default) recovers inline. */
  signatureThreads?: number;
  limits?: Partial<AgencyLimits>;
  clockSkewSeconds?: number;
  now?: () => Date;
  maxBatch?: number;
  /**
   * The chain to anchor checkpoints and agent cards on (optional). With it, the
   * engine has an `anchoring` service and receipts carry their final anchor.
   */
  chain?: AnchoringChain & { confirmations?: number };
  /**
   * Who may post outcomes of actions outside this deployment's studios:
   * `open` (default, any registered agent) or `self` (the acting agent only).
   */
  outcomePolicy?: OutcomePolicy;
  /** How attested actions are judged (default: optional, no trusted roots). */
  attestation?: AttestationRecordingPolicy;
};

/** The server-side components, wired together over one database. */
export type Engine = {
  db: Db;
  registry: AgentRegistry;
  /** Shard 0 of the log family: the configured log (anchoring reads it). */
  log: TransparencyLog;
  /** The log family: its shards, the active one, rotation (docs/spec/shards.md). */
  logs: LogFamily;
  agency: ProofOfAgency;
  /** The anchoring service, when a chain is configured. */
  anchoring: AnchoringService | undefined;
  /** Finishes queued writes and stops worker threads (does not close the database). */
  close(): Promise<void>;
};

/** Assembles the registry, the transparency log and Proof of Agency. */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  const { db, chainId, verifyingContract } = options;
  // Server side: notes (a checkpoint per batch) are signed by node:crypto, not noble.
  useNodeEd25519();
  const now = options.now;
  const registry = new AgentRegistry(
    now === undefined
      ? { db, chainId, verifyingContract }
      : { db, chainId, verifyingContract, now },
  );
  const log = await TransparencyLog.open(db, options.log);
  const logs = new LogFamily(db, log, {
    signerKey: options.log.signerKey,
    ...(options.shards === undefined ? {} : { rotation: options.shards }),
  });
  const threads = options.signatureThreads ?? 0;
  const verifier = threads > 0 ? new WorkerSignatureVerifier(threads) : undefined;
  // Ready means ready at full speed: the workers have loaded what they
  // prepare entries with, so the first requests do not wait for it.
  await verifier?.ready();
  const agency = new ProofOfAgency({
    db,
    log,
    logs,
    agents: registry,
    chainId,
    verifyingContract,
    ...(verifier === undefined ? {} : { verifier }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.clockSkewSeconds === undefined
      ? {}
      : { clockSkewSeconds: options.clockSkewSeconds }),
    ...(now === undefined ? {} : { now }),
    ...(options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch }),
    ...(options.attestation === undefined ? {} : { attestation: options.attestation }),
    ...(options.outcomePolicy === undefined ? {} : { outcomePolicy: options.outcomePolicy }),
  });
  const chain = options.chain;
  const anchoring =
    chain === undefined
      ? undefined
      : new AnchoringService({
          db,
          log,
          family: logs,
          chain,
          ...(chain.confirmations === undefined ? {} : { confirmations: chain.confirmations }),
          ...(now === undefined ? {} : { now }),
        });
  if (anchoring !== undefined) agency.setAnchorDirectory(anchoring);
  return {
    db,
    registry,
    log,
    logs,
    agency,
    anchoring,
    close: async () => {
      await anchoring?.stop();
      await agency.close();
    },
  };
}
