/**
 * Request schemas shared by the routes (TypeBox → JSON Schema → OpenAPI).
 * Entries, payloads and proofs are checked by the engine with its own codes;
 * these schemas bound shapes and sizes at the edge.
 * @module
 */
import { type TSchema, Type } from "@sinclair/typebox";

export const Address = Type.String({
  pattern: "^0x[0-9a-f]{40}$",
  description: "a lowercase 0x address (agent id)",
  examples: ["0x8ba1f109551bd432803012645ac136ddd64dba72"],
});
export const Hash = Type.String({
  pattern: "^0x[0-9a-f]{64}$",
  description: "32 bytes, 0x-hex",
  examples: [`0x${"5f".repeat(32)}`],
});
export const StudioId = Type.String({
  pattern: "^[a-z0-9][a-z0-9._-]{0,63}$",
  examples: ["governance"],
});
export const TaskId = Type.String({
  pattern: "^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$",
  examples: ["PIP-7"],
});
export const Decimal = (max = 12) =>
  Type.String({
    pattern: `^(0|[1-9][0-9]{0,${max - 1}})$`,
    description: "a decimal integer",
    examples: ["0"],
  });
/** A decimal integer ≥ 1 (tree sizes, epochs). */
export const Positive = (max = 12) =>
  Type.String({
    pattern: `^[1-9][0-9]{0,${max - 1}}$`,
    description: "a decimal integer ≥ 1",
    examples: ["1"],
  });
export const Limit = Type.String({
  pattern: "^[1-9][0-9]{0,2}$",
  description: "page size",
  examples: ["50"],
});
export const Cursor = Type.String({
  minLength: 1,
  maxLength: 200,
  description:
    "opaque: the `nextCursor` of a previous answer of the same query (a made-up value is refused)",
});
/** A time in a query: unix seconds, or an RFC 3339 date-time (`2026-01-31T12:00:00Z`). */
export const QueryTime = Type.String({
  pattern:
    "^([0-9]{1,12}|[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))$",
  description: "unix seconds, or an RFC 3339 date-time with its offset",
  examples: ["2026-01-31T12:00:00Z", "1769860800"],
});

/** A signed log entry (its shape is checked by Proof of Agency, docs/spec/receipt.md). */
export const Entry = Type.Object(
  {},
  { additionalProperties: true, description: "a signed chaoscore.entry/v2 (action or outcome)" },
);
/** A JSON value of any kind. */
export const Json = Type.Unknown({ description: "any JSON value" });

/** A signed action with its optional payload and attestation quote. */
export const SignedAction = Type.Object(
  {
    entry: Entry,
    payload: Type.Optional(Json),
    attestation: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { additionalProperties: false },
);
/** A signed outcome with its metrics. */
export const SignedOutcome = Type.Object(
  { entry: Entry, metrics: Type.Object({}, { additionalProperties: true }) },
  { additionalProperties: false },
);

/** A page of items. */
export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

/** The result of recording an action or outcome. */
export const RecordResult = Type.Object({
  id: Hash,
  kind: Type.Union([Type.Literal("action"), Type.Literal("outcome")]),
  /** The shard (log id) whose leaf it is (docs/spec/shards.md). */
  log: Type.String(),
  leafIndex: Type.Integer(),
  duplicate: Type.Boolean(),
});

/** The problem+json body of every error answer. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    code: Type.String({ description: "a stable code of docs/errors.md" }),
    requestId: Type.String(),
    retryable: Type.Boolean(),
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
  },
  { description: "RFC 9457 problem details" },
);

/** Error answers every route may give. */
export const errors = (...statuses: number[]) => ({
  200: Type.Unknown({ description: "the result" }),
  201: Type.Unknown({ description: "created" }),
  ...Object.fromEntries(
    [400, ...statuses].map((s) => [
      s,
      { ...Problem, description: "problem+json with a stable code" },
    ]),
  ),
});

/** An `Idempotency-Key` header value: 1 to 200 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = "^[\\x21-\\x7e]{1,200}$";

/** The headers of a write that must carry an `Idempotency-Key` (it moves money, say). */
export const IdempotencyKeyRequired = Type.Object(
  {
    "idempotency-key": Type.String({
      pattern: IDEMPOTENCY_KEY_PATTERN,
      description:
        "required here: a retry with the same key and body answers the first result instead of running again",
    }),
  },
  { additionalProperties: true },
);

/** Security requirements of write routes. */
export const WRITE_SECURITY = [{ apiKey: [] }, { agentSignature: [] }];
export const ADMIN_SECURITY = [{ apiKey: [] }];

/** Parses a `limit` query value (validated by the schema). */
export const toLimit = (v: string | undefined) => (v === undefined ? undefined : Number(v));

/** `{ limit }` when a limit was given, else `{}` (for exact optional properties). */
export const limitOf = (v: string | undefined): { limit?: number } =>
  v === undefined ? {} : { limit: Number(v) };
