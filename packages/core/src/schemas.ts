import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { ChaosCoreError, type ErrorCode } from "./errors.js";
import type { Address, Hex } from "./hex.js";

/**
 * JSON schemas (TypeBox, i.e. plain JSON Schema) of every exchanged record.
 * The same schemas validate input in the engine, describe the HTTP API and
 * are written out in docs/spec/.
 */
export const HexBytes32 = Type.Unsafe<Hex>(
  Type.String({ pattern: "^0x[0-9a-f]{64}$", description: "32 bytes, lowercase 0x-hex" }),
);
export const AddressHex = Type.Unsafe<Address>(
  Type.String({ pattern: "^0x[0-9a-f]{40}$", description: "an address, lowercase 0x-hex" }),
);
export const SignatureHex = Type.Unsafe<Hex>(
  Type.String({ pattern: "^0x[0-9a-f]{130}$", description: "65 bytes r‖s‖v" }),
);
export const Uint64String = Type.String({
  pattern: "^(0|[1-9][0-9]{0,19})$",
  description: "a uint64 as a decimal string",
});
export const ChainIdString = Type.String({
  pattern: "^[1-9][0-9]{0,19}$",
  description: "an EIP-155 chain id",
});
export const Base64Hash = Type.String({
  pattern: "^[A-Za-z0-9+/]{43}=$",
  description: "32 bytes, base64",
});

/**
 * Text that Postgres and every JSON/UTF-8 implementation carry unchanged: no
 * NUL characters and no lone UTF-16 surrogates.
 */
export const TEXT_PATTERN = "^(?:[^\\u0000\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$";
export const SafeText = (options: {
  minLength?: number;
  maxLength: number;
  description?: string;
}) => Type.String({ ...options, pattern: TEXT_PATTERN });
const Name = (maxLength: number) => SafeText({ maxLength });

export const ActionMessageSchema = Type.Object(
  {
    agent: AddressHex,
    studio: Name(256),
    task: Name(256),
    actionType: SafeText({ minLength: 1, maxLength: 128 }),
    payloadHash: HexBytes32,
    parents: Type.Array(HexBytes32, { maxItems: 64 }),
    attestationHash: HexBytes32,
    timestamp: Uint64String,
    nonce: Uint64String,
    expiry: Uint64String,
  },
  { additionalProperties: false },
);

export const OutcomeMessageSchema = Type.Object(
  {
    agent: AddressHex,
    action: HexBytes32,
    status: Type.Union([Type.Literal("success"), Type.Literal("failure"), Type.Literal("partial")]),
    resultHash: HexBytes32,
    metricsHash: HexBytes32,
    timestamp: Uint64String,
    nonce: Uint64String,
    expiry: Uint64String,
  },
  { additionalProperties: false },
);

export const RotateAgentKeySchema = Type.Object(
  { agent: AddressHex, newSigner: AddressHex, nonce: Uint64String, expiry: Uint64String },
  { additionalProperties: false },
);

/** v2 added `verifyingContract`: entries are signed for one deployment (EIP-712 domain version 2). */
export const ENTRY_FORMAT = "chaoscore.entry/v2";

export const ActionEntrySchema = Type.Object(
  {
    format: Type.Literal(ENTRY_FORMAT),
    kind: Type.Literal("action"),
    chainId: ChainIdString,
    verifyingContract: AddressHex,
    message: ActionMessageSchema,
    signature: SignatureHex,
  },
  { additionalProperties: false },
);

export const OutcomeEntrySchema = Type.Object(
  {
    format: Type.Literal(ENTRY_FORMAT),
    kind: Type.Literal("outcome"),
    chainId: ChainIdString,
    verifyingContract: AddressHex,
    message: OutcomeMessageSchema,
    signature: SignatureHex,
  },
  { additionalProperties: false },
);

export const LogEntrySchema = Type.Union([ActionEntrySchema, OutcomeEntrySchema]);

export const KeyRotationSchema = Type.Object(
  { message: RotateAgentKeySchema, signature: SignatureHex },
  { additionalProperties: false },
);

export type ActionEntry = Static<typeof ActionEntrySchema>;
export type OutcomeEntry = Static<typeof OutcomeEntrySchema>;
export type LogEntry = ActionEntry | OutcomeEntry;
export type KeyRotation = Static<typeof KeyRotationSchema>;

/**
 * Compiles a schema into a function that returns the value typed, or throws
 * `code` with the first schema violation (its JSON pointer) in the details.
 */
export function compileParser<T extends TSchema>(
  schema: T,
  code: ErrorCode,
  what: string,
): (value: unknown) => Static<T> {
  const checker = TypeCompiler.Compile(schema);
  return (value: unknown) => {
    if (checker.Check(value)) return value;
    const first = checker.Errors(value).First();
    throw new ChaosCoreError(
      code,
      `${what} is malformed${first ? `: ${first.path || "/"} ${first.message}` : ""}`,
      {
        details: first ? { path: first.path, problem: first.message } : {},
      },
    );
  };
}
