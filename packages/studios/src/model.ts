import {
  type Address,
  AddressHex,
  compileParser,
  type Hex,
  HexBytes32,
  type JsonValue,
  SafeText,
} from "@chaoscore/core";
import { type Static, type TSchema, Type } from "@sinclair/typebox";

/**
 * The studio model: studios, members, rules, reward policies, tasks and the
 * ports to reputation and rewards. See docs/studios.md.
 */

/** Studio ids: lowercase slugs (they are also the `studio` field of signed actions). */
export const STUDIO_ID_PATTERN = "^[a-z0-9][a-z0-9._-]{0,63}$";
/** Task ids: chosen by the operator who creates the task (the `task` field of signed actions). */
export const TASK_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$";
/** Role names. */
export const ROLE_PATTERN = "^[a-z][a-z0-9_-]{0,31}$";

/** The built-in roles. Studio kinds may use other role names too. */
export const STUDIO_ROLES = {
  /** Creates, assigns, rewards and reopens tasks; administers the studio. */
  operator: "operator",
  /** Does the work: starts and submits tasks assigned to it. */
  agent: "agent",
  /** Evaluates submissions (signs evaluate transitions and outcomes). */
  evaluator: "evaluator",
} as const;

const Role = Type.String({ pattern: ROLE_PATTERN });
/** A token amount in base units, as a decimal string (uint256). */
const Amount = Type.String({ pattern: "^(0|[1-9][0-9]{0,77})$" });

/** The rules of a studio. */
export const StudioRulesSchema = Type.Object(
  {
    /** Submissions must carry an execution attestation bound to their result. */
    attestationRequired: Type.Boolean(),
    /** When given, the attestation's measurement must be one of these. */
    allowedMeasurements: Type.Optional(Type.Array(HexBytes32, { minItems: 1, maxItems: 64 })),
    /** The least reputation (0..1) an assignee needs, unless the task sets its own. */
    minReputation: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    /** The reputation dimension read and written for this studio; default `studio:<id>`. */
    reputationDimension: Type.Optional(SafeText({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type StudioRules = Static<typeof StudioRulesSchema>;

/**
 * How a studio pays. `budget` caps the total paid, over the studio's life.
 * - `fixed`: each successful task earns `amountPerSuccess` (or `perRole[role]`);
 * - `share`: each round (a governance proposal) splits `pool` equally among its
 *   successful tasks.
 */
export const RewardPolicySchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal("fixed"),
      budget: Amount,
      amountPerSuccess: Amount,
      perRole: Type.Optional(Type.Record(Type.String({ pattern: ROLE_PATTERN }), Amount)),
      token: Type.Optional(AddressHex),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      kind: Type.Literal("share"),
      budget: Amount,
      pool: Amount,
      token: Type.Optional(AddressHex),
    },
    { additionalProperties: false },
  ),
]);
export type RewardPolicy = Static<typeof RewardPolicySchema>;

/** The reputation dimension of a studio: its `reputationDimension` rule, or `studio:<id>`. */
export function reputationDimension(studio: Pick<Studio, "id" | "rules">): string {
  return studio.rules.reputationDimension ?? `studio:${studio.id}`;
}

/** The status of a studio. An archived studio is read-only. */
export type StudioStatus = "active" | "archived";

/** A studio member and its roles. */
export type StudioMember = { agent: Address; roles: string[]; addedAt: string };

/** A studio. */
export type Studio = {
  id: string;
  kind: string;
  name: string;
  /** The operator agent (a registered agent; also a member with role `operator`). */
  operator: Address;
  config: JsonValue;
  rules: StudioRules;
  rewardPolicy: RewardPolicy;
  /** Token base units paid so far (decimal string). */
  spent: string;
  status: StudioStatus;
  /** 1 at creation; each `configure` adds one. */
  version: number;
  createdAt: string;
  updatedAt: string;
};

/**
 * A studio kind: its config schema and the roles its members may hold.
 * Register a new kind with `StudioManager.registerKind` (see docs/studios.md).
 */
export type StudioKind = {
  kind: string;
  /** The JSON schema (TypeBox) a studio's `config` must match. */
  configSchema: TSchema;
  /** The roles members may hold (default: the built-in roles). */
  roles?: readonly string[];
  /** Extra checks of a submission's `result`, e.g. the shape of a simulation output. */
  validateResult?: (result: unknown, task: Task) => string | null;
};

/** The `generic` kind: any JSON object as config. */
export const GENERIC_KIND: StudioKind = {
  kind: "generic",
  configSchema: Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 64 }),
};

// ---- tasks -------------------------------------------------------------------------------------

/** The states of a task. */
export const TASK_STATES = [
  "open",
  "assigned",
  "running",
  "submitted",
  "evaluated",
  "rewarded",
  "failed",
  "expired",
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** Who may sign a transition: members with one of these roles, or the task's assignee. */
type Signers = readonly (string | "assignee")[];

/**
 * The task state machine: for each transition, the states it leaves, the state
 * it enters, and who signs it. Each is the signed action `studio.task.<name>`.
 */
export const TASK_TRANSITIONS = {
  create: { from: [] as readonly TaskState[], to: "open", signers: ["operator"] as Signers },
  assign: { from: ["open"], to: "assigned", signers: ["operator"] },
  start: { from: ["assigned"], to: "running", signers: ["assignee"] },
  submit: { from: ["running"], to: "submitted", signers: ["assignee"] },
  evaluate: { from: ["submitted"], to: "evaluated", signers: ["evaluator", "operator"] },
  reward: { from: ["evaluated"], to: "rewarded", signers: ["operator"] },
  fail: {
    from: ["assigned", "running", "submitted"],
    to: "failed",
    signers: ["operator", "evaluator", "assignee"],
  },
  reopen: { from: ["failed", "expired"], to: "open", signers: ["operator"] },
  expire: { from: ["open", "assigned", "running"], to: "expired", signers: ["operator"] },
} as const satisfies Record<
  string,
  { from: readonly TaskState[]; to: TaskState; signers: Signers }
>;
export type TaskTransition = keyof typeof TASK_TRANSITIONS;

/** The action type of a transition: `studio.task.<transition>`. */
export const taskActionType = (t: TaskTransition): string => `studio.task.${t}`;

const TaskId = Type.String({ pattern: TASK_ID_PATTERN });
const Unix = Type.Integer({ minimum: 0, maximum: 2 ** 40 });
const Verdict = Type.Union([
  Type.Literal("success"),
  Type.Literal("failure"),
  Type.Literal("partial"),
]);

/** The payload schema of each transition (what the signer signs the hash of). */
export const TASK_PAYLOAD_SCHEMAS = {
  create: Type.Object(
    {
      title: SafeText({ minLength: 1, maxLength: 200 }),
      role: Role,
      capabilities: Type.Array(Type.String({ pattern: "^[a-z0-9][a-z0-9._-]{0,63}$" }), {
        maxItems: 16,
      }),
      dependsOn: Type.Array(TaskId, { maxItems: 32 }),
      /** Unix seconds. */
      deadline: Type.Optional(Unix),
      maxRetries: Type.Integer({ minimum: 0, maximum: 100 }),
      minReputation: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
      /** The task's input (e.g. the proposal to simulate); a submission's attestation binds it. */
      input: Type.Optional(Type.Unknown()),
    },
    { additionalProperties: false },
  ),
  assign: Type.Object({ agent: AddressHex }, { additionalProperties: false }),
  start: Type.Object({}, { additionalProperties: false }),
  submit: Type.Object(
    {
      result: Type.Unknown(),
      /** The attested run that produced `result` (required when the studio requires attestation). */
      execution: Type.Optional(
        Type.Object(
          {
            inputHash: HexBytes32,
            outputHash: HexBytes32,
            nonce: Type.String({ pattern: "^0x([0-9a-f]{2}){1,64}$" }),
            seed: Type.String({ maxLength: 1024 }),
            clock: Type.Integer({ minimum: 0 }),
          },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  ),
  evaluate: Type.Object(
    {
      verdict: Verdict,
      score: Type.Number({ minimum: 0, maximum: 1 }),
      reason: Type.Optional(SafeText({ maxLength: 1000 })),
    },
    { additionalProperties: false },
  ),
  reward: Type.Object(
    { payoutId: SafeText({ minLength: 1, maxLength: 200 }), amount: Amount },
    { additionalProperties: false },
  ),
  fail: Type.Object({ reason: SafeText({ maxLength: 1000 }) }, { additionalProperties: false }),
  reopen: Type.Object(
    { deadline: Type.Optional(Unix), reason: Type.Optional(SafeText({ maxLength: 1000 })) },
    { additionalProperties: false },
  ),
  expire: Type.Object({ deadline: Unix, at: Unix }, { additionalProperties: false }),
} as const satisfies Record<TaskTransition, TSchema>;

/** The payload of each transition. */
export type TaskPayloads = {
  [T in TaskTransition]: Static<(typeof TASK_PAYLOAD_SCHEMAS)[T]>;
};

export const parseTaskPayload = Object.fromEntries(
  Object.entries(TASK_PAYLOAD_SCHEMAS).map(([t, schema]) => [
    t,
    compileParser(schema, "STUDIO_ENTRY_INVALID", `the ${t} payload`),
  ]),
) as { [T in TaskTransition]: (value: unknown) => TaskPayloads[T] };

/** A task as stored (its state is the result of its signed transitions). */
export type Task = {
  studio: string;
  id: string;
  title: string;
  role: string;
  capabilities: string[];
  minReputation: number | null;
  input: JsonValue | null;
  /** The stored state; `expired` is also reported for an overdue task (see `overdue`). */
  state: TaskState;
  /** True when the deadline has passed but no expire transition is recorded yet. */
  overdue: boolean;
  assignee: Address | null;
  /** Unix seconds, or null. */
  deadline: number | null;
  maxRetries: number;
  /** Reopens so far. */
  retries: number;
  dependsOn: string[];
  result: JsonValue | null;
  /** The submit action (evaluator outcomes refer to it). */
  submitAction: Hex | null;
  verdict: "success" | "failure" | "partial" | null;
  score: number | null;
  /** Token base units paid for the task (decimal string), or null. */
  reward: string | null;
  payoutId: string | null;
  /** The last transition's signed action: the next transition's parent. */
  lastAction: Hex;
  createdAt: string;
  updatedAt: string;
};

/** One transition in a task's history. */
export type TaskTransitionRecord = {
  seq: number;
  transition: TaskTransition;
  from: TaskState | null;
  to: TaskState;
  actor: Address;
  actionId: Hex;
  at: string;
};

/** A signed transition as the agent (or operator) sends it. */
export type SignedTransition = {
  entry: unknown;
  payload: unknown;
  /** The execution attestation quote, for an attested submission. */
  attestation?: unknown;
};

// ---- ports -------------------------------------------------------------------------------------

/** An evaluated outcome, as the studio reports it to reputation. */
export type StudioOutcome = {
  agent: Address;
  studio: string;
  task: string;
  /** The reputation dimension (the studio's `reputationDimension`, default its kind). */
  dimension: string;
  /** The action evaluated (the task's submit action). */
  actionId: Hex;
  /** The evaluator's signed outcome. */
  outcomeId: Hex;
  status: "success" | "failure" | "partial";
  /** 0..1: 1 success, 0.5 partial, 0 failure (or the evaluator's score). */
  value: number;
  evaluator: Address;
  /** Unix seconds of the outcome. */
  at: number;
};

/**
 * What the studio needs from reputation (wired by the engine to the
 * reputation component; an in-memory fake in tests).
 */
export interface ReputationPort {
  /** Folds one evaluated outcome into the agent's scores. */
  applyOutcome(outcome: StudioOutcome): Promise<unknown>;
  /** The agent's score (0..1) in a dimension, or null when it has none. */
  get(agent: Address, dimension: string): Promise<number | null>;
}

/** What the studio needs from rewards (the anchoring component's RewardService fits). */
export interface RewardPort {
  /** Pays the recipients; idempotent per (studio, payoutId). */
  pay(input: {
    studio: string;
    payoutId: string;
    recipients: readonly { agent: string; amount: bigint }[];
  }): Promise<{ readonly actionId?: Hex; readonly txHash?: Hex; readonly duplicate?: boolean }>;
}

/** A key that signs on an actor's side, with an optional nonce source. */
export type StudioActor = {
  privateKey: Uint8Array;
  /** The next action nonce; default: the registry's last accepted nonce plus one. */
  nextNonce?: () => bigint | number;
  /** The agent id, when the key is a rotated key. */
  agent?: Address;
};
