/**
 * The formats of execution attestations: the mock TEE's quote
 * (`chaoscore.attestation/v1`) and the recorded execution
 * (`chaoscore.execution/v2`) — constants, schemas, types and parsers.
 * See docs/spec/attestation.md §2–§3.
 * @module
 */
import { type Static, Type } from "@sinclair/typebox";
import { canonicalJson, type JsonValue } from "./canonical-json.js";
import { ChaosCoreError, type ErrorCode } from "./errors.js";
import type { Hex } from "./hex.js";
import { isWellFormedText } from "./note.js";
import { compileParser, HexBytes32, SafeText, Uint64String } from "./schemas.js";

/** Format tag of a quote. */
export const ATTESTATION_FORMAT = "chaoscore.attestation/v1";
/** Format tag of a recorded execution. */
export const EXECUTION_FORMAT = "chaoscore.execution/v2";
/** Format tag inside the measured document. */
export const MEASUREMENT_FORMAT = "chaoscore.measurement/v2";
/** Format tag inside the hashed execution input. */
export const EXECUTION_INPUT_FORMAT = "chaoscore.execution-input/v1";
/** Provider name of the development (mock) TEE. */
export const MOCK_TEE_PROVIDER = "mock-tee";

/** Domain-separation prefixes of the two Ed25519 signing inputs. */
export const QUOTE_SIGNING_PREFIX = "chaoscore.attestation/v1 quote\n";
export const CERTIFICATE_SIGNING_PREFIX = "chaoscore.attestation/v1 certificate\n";

/** Most certificates in a quote's chain, and most trusted roots in a policy. */
export const MAX_CHAIN_LENGTH = 4;
export const MAX_TRUSTED_ROOTS = 64;

// ---- schemas -----------------------------------------------------------------------------

const Ed25519PublicKeyHex = Type.Unsafe<Hex>(
  Type.String({ pattern: "^0x[0-9a-f]{64}$", description: "Ed25519 public key, 32 bytes hex" }),
);
const Ed25519SignatureHex = Type.Unsafe<Hex>(
  Type.String({ pattern: "^0x[0-9a-f]{128}$", description: "Ed25519 signature, 64 bytes hex" }),
);
const NonceHex = Type.Unsafe<Hex>(
  Type.String({ pattern: "^0x(?:[0-9a-f]{2}){1,64}$", description: "1 to 64 bytes, hex" }),
);

export const AttestationCertificateSchema = Type.Object(
  {
    subject: SafeText({ minLength: 1, maxLength: 256 }),
    publicKey: Ed25519PublicKeyHex,
    notBefore: Uint64String,
    notAfter: Uint64String,
    issuer: SafeText({ minLength: 1, maxLength: 256 }),
    signature: Ed25519SignatureHex,
  },
  { additionalProperties: false },
);

export const AttestationQuoteSchema = Type.Object(
  {
    format: Type.Literal(ATTESTATION_FORMAT),
    provider: SafeText({ minLength: 1, maxLength: 64 }),
    measurement: HexBytes32,
    reportData: HexBytes32,
    nonce: NonceHex,
    timestamp: Uint64String,
    enclaveKey: Ed25519PublicKeyHex,
    certificateChain: Type.Array(AttestationCertificateSchema, {
      minItems: 1,
      maxItems: MAX_CHAIN_LENGTH,
    }),
    signature: Ed25519SignatureHex,
  },
  { additionalProperties: false },
);

const PositiveInt = (maximum: number) => Type.Integer({ minimum: 1, maximum });

/** The limits of a sandbox run; they are part of the measurement. */
export const ExecutionLimitsSchema = Type.Object(
  {
    memoryBytes: PositiveInt(2 ** 31),
    stackBytes: PositiveInt(2 ** 24),
    /** The gas budget: metered engine steps (function entries and loop iterations of the WebAssembly engine). */
    gas: PositiveInt(2 ** 50),
    timeoutMs: PositiveInt(2 ** 31),
    outputBytes: PositiveInt(2 ** 30),
    logBytes: PositiveInt(2 ** 30),
  },
  { additionalProperties: false },
);

/** The identity of the sandbox runtime; part of the measurement. */
export const RuntimeIdentitySchema = Type.Object(
  {
    engine: SafeText({ minLength: 1, maxLength: 64 }),
    engineVersion: SafeText({ minLength: 1, maxLength: 64 }),
    variant: SafeText({ minLength: 1, maxLength: 128 }),
    sandbox: SafeText({ minLength: 1, maxLength: 64 }),
    prelude: HexBytes32,
  },
  { additionalProperties: false },
);

export const RecordedExecutionSchema = Type.Object(
  {
    format: Type.Literal(EXECUTION_FORMAT),
    code: Type.String({ maxLength: 4 * 1024 * 1024 }),
    input: Type.Unknown(),
    seed: SafeText({ maxLength: 1024 }),
    clock: Type.Integer({ minimum: -8.64e15, maximum: 8.64e15 }),
    runtime: RuntimeIdentitySchema,
    limits: ExecutionLimitsSchema,
    output: Type.Unknown(),
    /** Gas the run used: a function of the measurement and the input (replay recomputes it). */
    gasUsed: Type.Integer({ minimum: 0, maximum: 2 ** 50 }),
    nonce: NonceHex,
    quote: Type.Union([AttestationQuoteSchema, Type.Null()]),
  },
  { additionalProperties: false },
);

export type AttestationCertificate = Static<typeof AttestationCertificateSchema>;
export type AttestationQuote = Static<typeof AttestationQuoteSchema>;
export type ExecutionLimits = Static<typeof ExecutionLimitsSchema>;
export type RuntimeIdentity = Static<typeof RuntimeIdentitySchema>;
/**
 * Everything needed to check an execution offline and to re-execute it: the
 * JavaScript that ran (after any TypeScript transpilation), its input, seed
 * and fixed clock, the runtime and limits (→ measurement), the output, the
 * nonce and the quote (null when the run was not attested).
 */
export type RecordedExecution = Omit<Static<typeof RecordedExecutionSchema>, "input" | "output"> & {
  input: JsonValue;
  output: JsonValue;
};

const parseQuoteShape = compileParser(AttestationQuoteSchema, "ATTESTATION_MALFORMED", "quote");
const parseRecordShape = compileParser(
  RecordedExecutionSchema,
  "EXECUTION_RECORD_MALFORMED",
  "recorded execution",
);

function fail(code: ErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new ChaosCoreError(code, message, details === undefined ? {} : { details });
}

/**
 * Parses a quote (a value, JSON text or UTF-8 bytes) against the
 * `chaoscore.attestation/v1` schema, without verifying it.
 * @throws ChaosCoreError ATTESTATION_MALFORMED.
 * @example const quote = parseQuote(JSON.parse(text));
 */
export function parseQuote(input: unknown): AttestationQuote {
  return parseQuoteShape(parseJsonInput(input, "ATTESTATION_MALFORMED", "quote"));
}

/**
 * Parses a recorded execution against the `chaoscore.execution/v2` schema;
 * its input and output must be JSON values (canonicalizable, well-formed text).
 * @throws ChaosCoreError EXECUTION_RECORD_MALFORMED (also for a malformed quote inside).
 * @example const recorded = parseRecordedExecution(JSON.parse(text));
 */
export function parseRecordedExecution(input: unknown): RecordedExecution {
  const value = parseRecordShape(parseJsonInput(input, "EXECUTION_RECORD_MALFORMED", "record"));
  for (const field of ["input", "output"] as const) {
    if (!(field in value) || value[field] === undefined) {
      fail("EXECUTION_RECORD_MALFORMED", `the recorded execution has no ${field}`, { field });
    }
    try {
      canonicalJson(value[field]);
    } catch {
      fail("EXECUTION_RECORD_MALFORMED", `the recorded ${field} is not a JSON value`, { field });
    }
    if (!isWellFormedJsonValue(value[field])) {
      fail("EXECUTION_RECORD_MALFORMED", `the recorded ${field} has a lone surrogate`, { field });
    }
  }
  return value as RecordedExecution;
}

/**
 * True when every string (and object key) in a JSON value is well-formed
 * UTF-16, i.e. has a UTF-8 encoding (no lone surrogate). Iterative, so deep
 * values cannot overflow the stack.
 * @example isWellFormedJsonValue({ text: "\ud800" }) // false
 */
export function isWellFormedJsonValue(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (!isWellFormedText(v)) return false;
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item);
    } else if (typeof v === "object" && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        if (!isWellFormedText(k)) return false;
        stack.push(item);
      }
    }
  }
  return true;
}

function parseJsonInput(input: unknown, code: ErrorCode, what: string): unknown {
  if (typeof input !== "string" && !(input instanceof Uint8Array)) return input;
  try {
    return JSON.parse(
      typeof input === "string" ? input : new TextDecoder("utf-8", { fatal: true }).decode(input),
    );
  } catch {
    return fail(code, `the ${what} is not valid JSON`);
  }
}
