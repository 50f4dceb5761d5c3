/**
 * What the gateway answers, as the client types it: the parts clients use
 * (the OpenAPI document at `/openapi.json` has them all).
 * @module
 */
import type { Address, Hex } from "@chaoscore/core";

/** The gateway's identity (`GET /v1`). */
export type GatewayInfo = {
  format: "chaoscore.gateway/v1";
  chainId: string;
  /** The deployment agents sign for (EIP-712 `verifyingContract`). */
  verifyingContract: Address;
  /** The origins the gateway answers at (signed requests name one). */
  origins: string[];
  log: { id: string; origin: string; verifierKey: string };
  trustedTeeRoots: Hex[];
  features: Record<string, boolean>;
  chain: { explorerUrl: string | null } | null;
};

/** A signed governance step or task transition as sent to a studio route. */
export type SignedStep = { entry: unknown; payload: unknown; attestation?: unknown };

/** An agent's identity and card (`GET /v1/agents/{id}`). */
export type AgentRecord = {
  identity: {
    id: Address;
    signer: Address;
    status: string;
    registryNonce: string;
    createdAt: string;
    updatedAt: string;
  };
  metadata: { card: Record<string, unknown>; version: number; cardHash: Hex };
};
/** What an agent signs with next (`GET /v1/agents/{id}/signing-state`). */
export type SigningState = {
  agent: Address;
  signer: Address;
  status: string;
  actionNonce: string | null;
  nextNonce: string;
};
/** A recorded action (`GET /v1/actions/{id}`). */
export type ActionRecord = {
  id: Hex;
  /** The shard (log id) whose leaf it is (docs/spec/shards.md). */
  log?: string;
  leafIndex: number;
  agent: Address;
  studio: string;
  task: string;
  actionType: string;
  nonce: string;
  timestamp: string;
  payloadHash: Hex;
  hasPayload: boolean;
  outcomeId: Hex | null;
  recordedAt: string;
};
/** Search hits with their inclusion proofs at one checkpoint (`GET /v1/search`). */
export type SearchResult = {
  kind: "action" | "agent" | "studio";
  checkpoint: { size: number; rootHash: string; note: string };
  items: {
    action: ActionRecord;
    /** In the latest checkpoint of the hit's shard (`log`; `checkpoint` when not the active one). */
    proof: {
      log?: string;
      leafIndex: number;
      treeSize: number;
      rootHash: string;
      hashes: string[];
      checkpoint?: string;
    };
  }[];
  nextCursor: string | null;
};
/** A sandbox run and its TEE attestation (`POST /v1/executions`). */
export type AttestedRun = {
  output: unknown;
  outputHash: Hex;
  inputHash: Hex;
  measurement: Hex;
  quote: Record<string, unknown>;
  attestationHash: Hex;
  recorded: Record<string, unknown>;
};
/** An agent's score in one dimension (`GET /v1/reputation/…`). */
export type ReputationScore = {
  agent: Address;
  dimension: string;
  value: number;
  confidence: number;
  samples: number;
};
/** A studio (`GET /v1/studios/{id}`). */
export type Studio = {
  id: string;
  kind: string;
  name: string;
  operator: Address;
  status: string;
} & Record<string, unknown>;
/** A studio task (`GET /v1/studios/{id}/tasks/{task}`). */
export type Task = {
  id: string;
  studio: string;
  state: string;
  assignee: Address | null;
  lastAction: Hex | null;
} & Record<string, unknown>;
/** A recorded task transition (`POST /v1/studios/{id}/tasks/transitions`). */
export type TransitionResult = { actionId: Hex; outcomeId?: Hex; task: Task } & Record<
  string,
  unknown
>;
/** A governance proposal and the actions that moved it. */
export type Proposal = {
  id: string;
  state: string;
  actions: { propose: Hex; tally?: Hex; execute?: Hex };
  votingEndsAt: number;
} & Record<string, unknown>;
/** An attested proposal simulation (`POST /v1/studios/{id}/tasks/{task}/simulate`). */
export type Simulation = {
  result: Record<string, unknown>;
  quote: Record<string, unknown>;
  execution: Record<string, unknown>;
};
