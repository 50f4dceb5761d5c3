/**
 * Execution attestations (`chaoscore.attestation/v1`) and recorded executions
 * (`chaoscore.execution/v2`): formats, hashes, signing and verification. Pure
 * (no I/O), so that an offline receipt verifier can check an attestation.
 * The format is specified in docs/spec/attestation.md.
 *
 * - measurement  = SHA-256(JCS({ format: "chaoscore.measurement/v2", codeHash, runtime, limits }))
 * - codeHash     = SHA-256(UTF-8 bytes of the JavaScript that ran)
 * - inputHash    = SHA-256(JCS({ format: "chaoscore.execution-input/v1", input, seed, clock }))
 * - outputHash   = SHA-256(JCS(output))
 * - reportData   = SHA-256(inputHash ‖ outputHash ‖ nonce)            (raw bytes)
 * - quote signed = Ed25519(enclave key, "chaoscore.attestation/v1 quote\n" ‖ JCS(quote − signature))
 * - certificate  = Ed25519(issuer key, "chaoscore.attestation/v1 certificate\n" ‖ JCS(cert − signature))
 * - attestationHash = SHA-256(JCS(quote)), the `attestationHash` of an Action.
 *
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { type Static, Type } from "@sinclair/typebox";
import { canonicalJson, canonicalJsonBytes, type JsonValue } from "./canonical-json.js";
import { ChaosCoreError, type ErrorCode } from "./errors.js";
import { sha256, sha256Hex, utf8 } from "./hash.js";
import { bytesToHex, concatBytes, type Hex, hexToBytes, isHex } from "./hex.js";
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

// ---- hashes ------------------------------------------------------------------------------

/**
 * SHA-256 of the UTF-8 bytes of the JavaScript that runs (TypeScript is
 * transpiled first; the transpiled text is hashed).
 * @example hashExecutionCode("export default () => 1")
 */
export function hashExecutionCode(code: string): Hex {
  return sha256Hex(utf8(code));
}

/**
 * The execution input hash: SHA-256(JCS({ format: "chaoscore.execution-input/v1",
 * input, seed, clock })). It binds the task input with the PRNG seed and the
 * fixed clock, the other two things a run's output depends on.
 * @throws ChaosCoreError INVALID_JSON when `input` is not a JSON value.
 * @example hashExecutionInput({ input: { votes: 3 }, seed: "", clock: 0 })
 */
export function hashExecutionInput(args: { input: unknown; seed: string; clock: number }): Hex {
  return sha256Hex(
    canonicalJsonBytes({
      format: EXECUTION_INPUT_FORMAT,
      input: args.input,
      seed: args.seed,
      clock: args.clock,
    }),
  );
}

/**
 * SHA-256 of the output's canonical JSON (RFC 8785).
 * @throws ChaosCoreError INVALID_JSON when `output` is not a JSON value.
 * @example hashExecutionOutput({ approve: true })
 */
export function hashExecutionOutput(output: unknown): Hex {
  return sha256Hex(canonicalJsonBytes(output));
}

/**
 * The measurement (the MRENCLAVE equivalent):
 * SHA-256(JCS({ format: "chaoscore.measurement/v2", codeHash, runtime, limits })).
 * @throws ChaosCoreError INVALID_JSON for non-JSON fields.
 * @example computeMeasurement({ codeHash, runtime: sandbox.runtime, limits })
 */
export function computeMeasurement(args: {
  codeHash: Hex;
  runtime: RuntimeIdentity;
  limits: ExecutionLimits;
}): Hex {
  const { runtime, limits } = args;
  return sha256Hex(
    canonicalJsonBytes({
      format: MEASUREMENT_FORMAT,
      codeHash: args.codeHash,
      runtime: {
        engine: runtime.engine,
        engineVersion: runtime.engineVersion,
        variant: runtime.variant,
        sandbox: runtime.sandbox,
        prelude: runtime.prelude,
      },
      limits: {
        memoryBytes: limits.memoryBytes,
        stackBytes: limits.stackBytes,
        gas: limits.gas,
        timeoutMs: limits.timeoutMs,
        outputBytes: limits.outputBytes,
        logBytes: limits.logBytes,
      },
    }),
  );
}

/**
 * reportData = SHA-256(inputHash ‖ outputHash ‖ nonce), over the raw bytes
 * (32 + 32 + 1..64 bytes).
 * @throws ChaosCoreError INVALID_HEX when a hash is not 32-byte hex or the nonce not 1..64 bytes.
 * @example computeReportData(result.inputHash, result.outputHash, nonce)
 */
export function computeReportData(inputHash: Hex, outputHash: Hex, nonce: Hex): Hex {
  const n = hexToBytes(nonce);
  if (n.length < 1 || n.length > 64) {
    throw new ChaosCoreError("INVALID_HEX", "a nonce is 1 to 64 bytes", {
      details: { value: nonce.slice(0, 80) },
    });
  }
  return bytesToHex(sha256(concatBytes(hexToBytes(inputHash, 32), hexToBytes(outputHash, 32), n)));
}

/**
 * SHA-256 of the quote's canonical JSON: the value an Action carries in
 * `attestationHash`.
 * @throws ChaosCoreError ATTESTATION_MALFORMED when `quote` is not a v1 quote.
 * @example signAction({ ..., attestationHash: attestationHash(quote) })
 */
export function attestationHash(quote: unknown): Hex {
  return sha256Hex(canonicalJsonBytes(parseQuote(quote)));
}

// ---- signing -----------------------------------------------------------------------------

/** An Ed25519 key pair as hex (secret = the 32-byte seed). */
export type Ed25519KeyPair = { secretKey: Hex; publicKey: Hex };

/**
 * Creates an Ed25519 key pair (random, or from a 32-byte seed for
 * reproducible vectors and tests).
 * @throws ChaosCoreError INVALID_INPUT when the seed is not 32 bytes.
 * @example const root = generateAttestationKey();
 */
export function generateAttestationKey(seed?: Uint8Array): Ed25519KeyPair {
  if (seed !== undefined && (!(seed instanceof Uint8Array) || seed.length !== 32)) {
    throw new ChaosCoreError("INVALID_INPUT", "an Ed25519 seed is 32 bytes");
  }
  const secret = seed === undefined ? ed25519.utils.randomSecretKey() : seed.slice();
  return { secretKey: bytesToHex(secret), publicKey: bytesToHex(ed25519.getPublicKey(secret)) };
}

/** The bytes an issuer signs for a certificate. */
export function certificateSigningInput(
  cert: Omit<AttestationCertificate, "signature">,
): Uint8Array {
  const { subject, publicKey, notBefore, notAfter, issuer } = cert;
  return concatBytes(
    utf8(CERTIFICATE_SIGNING_PREFIX),
    canonicalJsonBytes({ subject, publicKey, notBefore, notAfter, issuer }),
  );
}

/** The bytes the enclave key signs for a quote. */
export function quoteSigningInput(quote: Omit<AttestationQuote, "signature">): Uint8Array {
  const { format, provider, measurement, reportData, nonce, timestamp, enclaveKey } = quote;
  const certificateChain = quote.certificateChain.map((c) => ({
    subject: c.subject,
    publicKey: c.publicKey,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    issuer: c.issuer,
    signature: c.signature,
  }));
  return concatBytes(
    utf8(QUOTE_SIGNING_PREFIX),
    canonicalJsonBytes({
      format,
      provider,
      measurement,
      reportData,
      nonce,
      timestamp,
      enclaveKey,
      certificateChain,
    }),
  );
}

/**
 * Issues a certificate for `publicKey`, signed by `issuerSecretKey`.
 * @example issueAttestationCertificate({ subject: "enclave", publicKey, issuer: "root",
 *   issuerSecretKey: root.secretKey, notBefore: 0n, notAfter: 2n ** 32n })
 */
export function issueAttestationCertificate(args: {
  subject: string;
  publicKey: Hex;
  issuer: string;
  issuerSecretKey: Hex;
  notBefore: bigint | number;
  notAfter: bigint | number;
}): AttestationCertificate {
  const body = {
    subject: args.subject,
    publicKey: args.publicKey,
    notBefore: BigInt(args.notBefore).toString(),
    notAfter: BigInt(args.notAfter).toString(),
    issuer: args.issuer,
  };
  const signature = ed25519.sign(
    certificateSigningInput(body),
    hexToBytes(args.issuerSecretKey, 32),
  );
  return { ...body, signature: bytesToHex(signature) };
}

/**
 * Builds and signs a quote with the enclave key (what a TEE's quoting
 * enclave does). The chain's first certificate must certify the enclave key.
 * @throws ChaosCoreError ATTESTATION_MALFORMED when the result is not a valid v1 quote.
 * @example signQuote({ provider: "mock-tee", measurement, reportData, nonce,
 *   timestamp: 1700000000n, enclaveSecretKey, certificateChain: [cert] })
 */
export function signQuote(args: {
  provider: string;
  measurement: Hex;
  reportData: Hex;
  nonce: Hex;
  timestamp: bigint | number;
  enclaveSecretKey: Hex;
  certificateChain: readonly AttestationCertificate[];
}): AttestationQuote {
  const secret = hexToBytes(args.enclaveSecretKey, 32);
  const body: Omit<AttestationQuote, "signature"> = {
    format: ATTESTATION_FORMAT,
    provider: args.provider,
    measurement: args.measurement,
    reportData: args.reportData,
    nonce: args.nonce,
    timestamp: BigInt(args.timestamp).toString(),
    enclaveKey: bytesToHex(ed25519.getPublicKey(secret)),
    certificateChain: [...args.certificateChain],
  };
  const signature = ed25519.sign(quoteSigningInput(body), secret);
  return parseQuote({ ...body, signature: bytesToHex(signature) });
}

// ---- verification ------------------------------------------------------------------------

/** What a verifier accepts. */
export type AttestationPolicy = {
  /** Ed25519 public keys of the trusted roots (1 to 64). */
  trustedRoots: readonly Hex[];
  /** When given, the quote's measurement must be one of these. */
  allowedMeasurements?: readonly Hex[];
  /** Oldest acceptable quote, in seconds before `now`. */
  maxAgeSeconds: number;
  /** Verification time, unix seconds. */
  now: number | bigint;
  /** Largest acceptable clock skew into the future, seconds (default 60). */
  maxFutureSkewSeconds?: number;
  /** When given, the quote's reportData must equal it. */
  expectedReportData?: Hex;
  /** When given, the quote's nonce must equal it. */
  expectedNonce?: Hex;
  /** When given, the quote's provider must be one of these. */
  allowedProviders?: readonly string[];
};

/** A quote that passed verification, and what it established. */
export type VerifiedQuote = {
  quote: AttestationQuote;
  /** SHA-256(JCS(quote)). */
  attestationHash: Hex;
  /** The trusted root that certified the chain. */
  root: Hex;
};

function verifyEd25519(signature: Hex, message: Uint8Array, publicKey: Hex): boolean {
  try {
    return ed25519.verify(hexToBytes(signature, 64), message, hexToBytes(publicKey, 32), {
      zip215: false,
    });
  } catch {
    return false;
  }
}

function checkPolicy(policy: AttestationPolicy): void {
  const bad = (what: string): never => fail("INVALID_INPUT", `attestation policy: ${what}`);
  if (typeof policy !== "object" || policy === null) bad("not an object");
  if (
    !Array.isArray(policy.trustedRoots) ||
    policy.trustedRoots.length === 0 ||
    policy.trustedRoots.length > MAX_TRUSTED_ROOTS ||
    !policy.trustedRoots.every((k) => isHex(k, 32))
  ) {
    bad(`trustedRoots must be 1 to ${MAX_TRUSTED_ROOTS} Ed25519 public keys (32-byte hex)`);
  }
  if (!Number.isSafeInteger(policy.maxAgeSeconds) || policy.maxAgeSeconds < 0) {
    bad("maxAgeSeconds must be a non-negative integer");
  }
  const skew = policy.maxFutureSkewSeconds ?? 60;
  if (!Number.isSafeInteger(skew) || skew < 0) bad("maxFutureSkewSeconds must be >= 0");
  if (typeof policy.now !== "bigint" && !Number.isSafeInteger(policy.now)) {
    bad("now must be integer unix seconds");
  }
  if (
    policy.allowedMeasurements !== undefined &&
    (!Array.isArray(policy.allowedMeasurements) ||
      !policy.allowedMeasurements.every((m) => isHex(m, 32)))
  ) {
    bad("allowedMeasurements must be 32-byte hex values");
  }
}

/**
 * Verifies a quote against a policy, in this order (the first failure wins):
 *
 * 1. shape (`chaoscore.attestation/v1`)                 → ATTESTATION_MALFORMED
 * 2. chain: chain[0] certifies `enclaveKey`; each certificate is signed by the
 *    next one's key and the last by a trusted root; every certificate is
 *    valid at the quote's timestamp                     → ATTESTATION_CHAIN_INVALID
 * 3. the enclave key's signature over the quote        → ATTESTATION_SIGNATURE_INVALID
 * 4. provider and measurement allow-lists              → ATTESTATION_MEASUREMENT_NOT_ALLOWED
 * 5. freshness: now − maxAge ≤ timestamp ≤ now + skew  → ATTESTATION_STALE
 * 6. expected report data and nonce                    → ATTESTATION_REPORT_DATA_MISMATCH
 *
 * @throws ChaosCoreError the codes above; INVALID_INPUT for a malformed policy.
 * @example
 * ```ts
 * const { attestationHash } = verifyQuote(quote, {
 *   trustedRoots: [rootPublicKey], allowedMeasurements: [measurement],
 *   maxAgeSeconds: 300, now: Math.floor(Date.now() / 1000),
 * });
 * ```
 */
export function verifyQuote(input: unknown, policy: AttestationPolicy): VerifiedQuote {
  checkPolicy(policy);
  const quote = parseQuote(input);
  const timestamp = BigInt(quote.timestamp);

  // 2. certificate chain
  const chain = quote.certificateChain;
  const first = chain[0] as AttestationCertificate;
  if (first.publicKey !== quote.enclaveKey) {
    fail("ATTESTATION_CHAIN_INVALID", "the first certificate does not certify the enclave key", {
      enclaveKey: quote.enclaveKey,
      certified: first.publicKey,
    });
  }
  for (const [i, cert] of chain.entries()) {
    if (timestamp < BigInt(cert.notBefore) || timestamp > BigInt(cert.notAfter)) {
      fail("ATTESTATION_CHAIN_INVALID", `certificate ${i} is not valid at the quote's time`, {
        index: i,
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
        timestamp: quote.timestamp,
      });
    }
    const issuer = chain[i + 1];
    if (issuer !== undefined) {
      if (!verifyEd25519(cert.signature, certificateSigningInput(cert), issuer.publicKey)) {
        fail(
          "ATTESTATION_CHAIN_INVALID",
          `certificate ${i} is not signed by certificate ${i + 1}`,
          {
            index: i,
          },
        );
      }
    }
  }
  const last = chain[chain.length - 1] as AttestationCertificate;
  const root = policy.trustedRoots.find((key) =>
    verifyEd25519(last.signature, certificateSigningInput(last), key),
  );
  if (root === undefined) {
    fail("ATTESTATION_CHAIN_INVALID", "the certificate chain does not lead to a trusted root", {
      issuer: last.issuer,
    });
  }

  // 3. the quote's own signature
  if (!verifyEd25519(quote.signature, quoteSigningInput(quote), quote.enclaveKey)) {
    fail("ATTESTATION_SIGNATURE_INVALID", "the quote's signature does not verify");
  }

  // 4. allow-lists
  if (policy.allowedProviders !== undefined && !policy.allowedProviders.includes(quote.provider)) {
    fail("ATTESTATION_MEASUREMENT_NOT_ALLOWED", `provider ${quote.provider} is not allowed`, {
      provider: quote.provider,
    });
  }
  if (
    policy.allowedMeasurements !== undefined &&
    !policy.allowedMeasurements.includes(quote.measurement)
  ) {
    fail("ATTESTATION_MEASUREMENT_NOT_ALLOWED", "the measurement is not in the allow-list", {
      measurement: quote.measurement,
    });
  }

  // 5. freshness
  const now = BigInt(policy.now);
  const skew = BigInt(policy.maxFutureSkewSeconds ?? 60);
  if (timestamp < now - BigInt(policy.maxAgeSeconds) || timestamp > now + skew) {
    fail("ATTESTATION_STALE", "the quote's timestamp is outside the accepted window", {
      timestamp: quote.timestamp,
      now: now.toString(),
      maxAgeSeconds: policy.maxAgeSeconds,
    });
  }

  // 6. binding
  if (policy.expectedNonce !== undefined && policy.expectedNonce !== quote.nonce) {
    fail("ATTESTATION_REPORT_DATA_MISMATCH", "the quote's nonce is not the expected nonce", {
      nonce: quote.nonce,
      expected: policy.expectedNonce,
    });
  }
  if (policy.expectedReportData !== undefined && policy.expectedReportData !== quote.reportData) {
    fail("ATTESTATION_REPORT_DATA_MISMATCH", "the quote's report data is not the expected value", {
      reportData: quote.reportData,
      expected: policy.expectedReportData,
    });
  }
  return {
    quote,
    attestationHash: sha256Hex(canonicalJsonBytes(quote)),
    root: root as Hex,
  };
}

/** What a verified recorded execution establishes. */
export type VerifiedExecution = VerifiedQuote & {
  measurement: Hex;
  codeHash: Hex;
  inputHash: Hex;
  outputHash: Hex;
};

/**
 * Verifies a recorded execution offline (without running it): recomputes the
 * code hash, measurement, input hash, output hash and report data from the
 * record, checks the quote under `policy` with that report data and nonce,
 * and that the quote's measurement is the record's. Re-execution
 * (`replay` in @chaoscore/engine) is the independent second check.
 * @throws ChaosCoreError EXECUTION_RECORD_MALFORMED (also when `quote` is null),
 * ATTESTATION_MEASUREMENT_MISMATCH, and every code of {@link verifyQuote}.
 * @example verifyRecordedExecution(recorded, { trustedRoots: [root], maxAgeSeconds: 300, now })
 */
export function verifyRecordedExecution(
  input: unknown,
  policy: AttestationPolicy,
): VerifiedExecution {
  const recorded = parseRecordedExecution(input);
  if (recorded.quote === null) {
    fail("EXECUTION_RECORD_MALFORMED", "the recorded execution carries no quote");
  }
  const codeHash = hashExecutionCode(recorded.code);
  const measurement = computeMeasurement({
    codeHash,
    runtime: recorded.runtime,
    limits: recorded.limits,
  });
  const inputHash = hashExecutionInput(recorded);
  const outputHash = hashExecutionOutput(recorded.output);
  const reportData = computeReportData(inputHash, outputHash, recorded.nonce);
  const verified = verifyQuote(recorded.quote, {
    ...policy,
    expectedReportData: reportData,
    expectedNonce: recorded.nonce,
  });
  if (verified.quote.measurement !== measurement) {
    fail("ATTESTATION_MEASUREMENT_MISMATCH", "the quote does not measure the recorded code", {
      measurement: verified.quote.measurement,
      expected: measurement,
    });
  }
  return { ...verified, measurement, codeHash, inputHash, outputHash };
}
