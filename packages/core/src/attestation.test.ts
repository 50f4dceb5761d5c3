import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type AttestationPolicy,
  type AttestationQuote,
  attestationHash,
  computeMeasurement,
  computeReportData,
  EXECUTION_FORMAT,
  type ExecutionLimits,
  generateAttestationKey,
  hashExecutionCode,
  hashExecutionInput,
  hashExecutionOutput,
  issueAttestationCertificate,
  isWellFormedJsonValue,
  parseQuote,
  parseRecordedExecution,
  type RecordedExecution,
  type RuntimeIdentity,
  signQuote,
  verifyQuote,
  verifyRecordedExecution,
} from "./attestation.js";
import { canonicalJson } from "./canonical-json.js";
import { isChaosCoreError } from "./errors.js";
import { sha256, sha256Hex, utf8 } from "./hash.js";
import type { Hex } from "./hex.js";

const DIR = join(import.meta.dirname, "..", "..", "..", "vectors", "attestations");

// ---- a deterministic world (the same keys generate vectors/attestations) ------------------

const seed = (label: string) =>
  sha256(utf8(`chaoscore attestation vectors: ${label} (never use it)`));
const ROOT = generateAttestationKey(seed("mock root"));
const ENCLAVE = generateAttestationKey(seed("enclave"));
const FOREIGN_ROOT = generateAttestationKey(seed("foreign root"));
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
const RUNTIME: RuntimeIdentity = {
  engine: "quickjs",
  engineVersion: "quickjs-emscripten@0.32.0",
  variant: "@jitl/quickjs-wasmfile-release-sync+chaoscore.gas/1",
  sandbox: "chaoscore.sandbox/2",
  prelude: `0x${"11".repeat(32)}`,
};
const LIMITS: ExecutionLimits = {
  memoryBytes: 67108864,
  stackBytes: 262144,
  gas: 200000000,
  timeoutMs: 5000,
  outputBytes: 1048576,
  logBytes: 65536,
};
const CODE = "export default function main(p) {\n  return { approve: p.for > p.against };\n}\n";
const INPUT = { for: 7, against: 3 };
const OUTPUT = { approve: true };
const NONCE: Hex = `0x${"5a".repeat(32)}`;

const certificate = (root = ROOT, notAfter = T0 + 86_400, key = ENCLAVE.publicKey) =>
  issueAttestationCertificate({
    subject: "mock-tee enclave",
    publicKey: key,
    issuer: "chaoscore mock-tee root",
    issuerSecretKey: root.secretKey,
    notBefore: T0 - 60,
    notAfter,
  });

const MEASUREMENT = computeMeasurement({
  codeHash: hashExecutionCode(CODE),
  runtime: RUNTIME,
  limits: LIMITS,
});
const INPUT_HASH = hashExecutionInput({ input: INPUT, seed: "", clock: 0 });
const OUTPUT_HASH = hashExecutionOutput(OUTPUT);
const REPORT_DATA = computeReportData(INPUT_HASH, OUTPUT_HASH, NONCE);

const quote = (over: { cert?: ReturnType<typeof certificate>; timestamp?: number } = {}) =>
  signQuote({
    provider: "mock-tee",
    measurement: MEASUREMENT,
    reportData: REPORT_DATA,
    nonce: NONCE,
    timestamp: over.timestamp ?? T0 + 10,
    enclaveSecretKey: ENCLAVE.secretKey,
    certificateChain: [over.cert ?? certificate()],
  });

const POLICY = {
  trustedRoots: [ROOT.publicKey],
  allowedMeasurements: [MEASUREMENT],
  maxAgeSeconds: 300,
  now: T0 + 20,
  expectedReportData: REPORT_DATA,
} satisfies AttestationPolicy;

const RECORD: RecordedExecution = {
  format: EXECUTION_FORMAT,
  code: CODE,
  input: INPUT,
  seed: "",
  clock: 0,
  runtime: RUNTIME,
  limits: LIMITS,
  output: OUTPUT,
  gasUsed: 123456,
  nonce: NONCE,
  quote: quote(),
};

type Vector = {
  description: string;
  quote: unknown;
  policy: typeof POLICY | Omit<typeof POLICY, "allowedMeasurements">;
  expectedError: string | null;
  attestationHash?: Hex;
};

/** Sets a nested field of a JSON copy. */
function mutate(value: unknown, edit: (copy: Record<string, unknown>) => void): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  edit(copy);
  return copy;
}

function vectors(): Record<string, Vector> {
  const valid = quote();
  const v = (
    description: string,
    q: unknown,
    expectedError: string | null,
    policy: Vector["policy"] = POLICY,
  ): Vector => ({ description, quote: q, policy, expectedError });
  return {
    "valid.json": {
      ...v("A valid mock-tee quote and the policy it passes.", valid, null),
      attestationHash: attestationHash(valid),
    },
    "tampered-measurement.json": v(
      "The measurement was changed after signing (and allowed by the policy).",
      mutate(valid, (q) => {
        q.measurement = `0x${"00".repeat(32)}`;
      }),
      "ATTESTATION_SIGNATURE_INVALID",
      { ...POLICY, allowedMeasurements: [`0x${"00".repeat(32)}`] },
    ),
    "tampered-report-data.json": v(
      "The report data was changed after signing.",
      mutate(valid, (q) => {
        q.reportData = `0x${"ff".repeat(32)}`;
      }),
      "ATTESTATION_SIGNATURE_INVALID",
      { ...POLICY, expectedReportData: `0x${"ff".repeat(32)}` },
    ),
    "tampered-signature.json": v(
      "One bit of the signature flipped.",
      mutate(valid, (q) => {
        const s = q.signature as string;
        q.signature = `${s.slice(0, 10)}${s[10] === "0" ? "1" : "0"}${s.slice(11)}`;
      }),
      "ATTESTATION_SIGNATURE_INVALID",
    ),
    "wrong-measurement.json": v(
      "A valid quote whose measurement is not in the allow-list.",
      valid,
      "ATTESTATION_MEASUREMENT_NOT_ALLOWED",
      { ...POLICY, allowedMeasurements: [`0x${"ab".repeat(32)}`] },
    ),
    "stale.json": v(
      "A valid quote verified one hour later with maxAgeSeconds 300.",
      valid,
      "ATTESTATION_STALE",
      { ...POLICY, now: T0 + 3600 },
    ),
    "future.json": v(
      "A valid quote dated 10 minutes after the verifier's clock.",
      valid,
      "ATTESTATION_STALE",
      { ...POLICY, now: T0 - 600 },
    ),
    "foreign-enclave-key.json": v(
      "A quote signed by an enclave key certified by another (untrusted) root.",
      quote({ cert: certificate(FOREIGN_ROOT) }),
      "ATTESTATION_CHAIN_INVALID",
    ),
    "expired-certificate.json": v(
      "The enclave certificate expired before the quote's timestamp.",
      quote({ cert: certificate(ROOT, T0) }),
      "ATTESTATION_CHAIN_INVALID",
    ),
    "swapped-enclave-key.json": v(
      "The enclave key replaced by another key (the certificate certifies the original).",
      mutate(valid, (q) => {
        q.enclaveKey = FOREIGN_ROOT.publicKey;
      }),
      "ATTESTATION_CHAIN_INVALID",
    ),
    "report-data-mismatch.json": v(
      "A valid quote for another input/output/nonce than the verifier expects.",
      valid,
      "ATTESTATION_REPORT_DATA_MISMATCH",
      { ...POLICY, expectedReportData: computeReportData(INPUT_HASH, INPUT_HASH, NONCE) },
    ),
    "malformed-extra-field.json": v(
      "An unknown field.",
      mutate(valid, (q) => {
        q.debug = true;
      }),
      "ATTESTATION_MALFORMED",
    ),
    "malformed-uppercase-hex.json": v(
      "Hex must be lowercase.",
      mutate(valid, (q) => {
        q.measurement = (q.measurement as string).toUpperCase().replace("0X", "0x");
      }),
      "ATTESTATION_MALFORMED",
    ),
  };
}

const code = (f: () => unknown): string | null => {
  try {
    f();
    return null;
  } catch (e) {
    return isChaosCoreError(e) ? e.code : `not a ChaosCoreError: ${String(e)}`;
  }
};

// ---- vectors/attestations --------------------------------------------------------------------

describe("vectors/attestations", () => {
  const generated = vectors();
  const root = {
    description:
      "The example mock-tee root and enclave keys of these vectors (Ed25519; secret = 32-byte seed). They are derived from public labels: never trust them outside tests.",
    rootPublicKey: ROOT.publicKey,
    rootSecretKey: ROOT.secretKey,
    rootSeed: 'SHA-256(UTF-8 "chaoscore attestation vectors: mock root (never use it)")',
    enclavePublicKey: ENCLAVE.publicKey,
    enclaveSeed: 'SHA-256(UTF-8 "chaoscore attestation vectors: enclave (never use it)")',
    foreignRootPublicKey: FOREIGN_ROOT.publicKey,
  };
  const record = {
    description:
      "A recorded execution (chaoscore.execution/v2) with its quote; verifyRecordedExecution accepts it under the policy.",
    recorded: RECORD,
    policy: { trustedRoots: [ROOT.publicKey], maxAgeSeconds: 300, now: T0 + 20 },
    expected: {
      codeHash: hashExecutionCode(CODE),
      measurement: MEASUREMENT,
      inputHash: INPUT_HASH,
      outputHash: OUTPUT_HASH,
      reportData: REPORT_DATA,
      attestationHash: attestationHash(RECORD.quote),
    },
  };
  const files: Record<string, unknown> = {
    ...generated,
    "root.json": root,
    "recorded-execution.json": record,
  };

  if (process.env.UPDATE_VECTORS === "1" || !existsSync(DIR)) {
    mkdirSync(DIR, { recursive: true });
    for (const [name, value] of Object.entries(files)) {
      writeFileSync(join(DIR, name), `${JSON.stringify(value, null, 2)}\n`);
    }
  }

  it("are what the deterministic generator produces (UPDATE_VECTORS=1 rewrites them)", () => {
    expect(readdirSync(DIR).sort()).toEqual(Object.keys(files).sort());
    for (const [name, value] of Object.entries(files)) {
      expect(readFileSync(join(DIR, name), "utf8"), name).toBe(
        `${JSON.stringify(value, null, 2)}\n`,
      );
    }
  });

  for (const name of Object.keys(generated)) {
    it(`${name} gives ${generated[name]?.expectedError ?? "a verified quote"}`, () => {
      const vector = JSON.parse(readFileSync(join(DIR, name), "utf8")) as Vector;
      expect(code(() => verifyQuote(vector.quote, vector.policy))).toBe(vector.expectedError);
      if (vector.attestationHash !== undefined) {
        expect(verifyQuote(vector.quote, vector.policy).attestationHash).toBe(
          vector.attestationHash,
        );
      }
    });
  }

  it("recorded-execution.json verifies offline and its hashes match", () => {
    const v = JSON.parse(readFileSync(join(DIR, "recorded-execution.json"), "utf8"));
    const verified = verifyRecordedExecution(v.recorded, v.policy);
    expect(verified.measurement).toBe(v.expected.measurement);
    expect(verified.inputHash).toBe(v.expected.inputHash);
    expect(verified.outputHash).toBe(v.expected.outputHash);
    expect(verified.quote.reportData).toBe(v.expected.reportData);
    expect(verified.attestationHash).toBe(v.expected.attestationHash);
  });
});

// ---- functions -------------------------------------------------------------------------------

describe("computeMeasurement", () => {
  it("is SHA-256 of the canonical measured document", () => {
    const doc = {
      format: "chaoscore.measurement/v2",
      codeHash: hashExecutionCode(CODE),
      runtime: RUNTIME,
      limits: LIMITS,
    };
    expect(MEASUREMENT).toBe(sha256Hex(utf8(canonicalJson(doc))));
  });

  it("changes with the code, the runtime and every limit", () => {
    const seen = new Set([MEASUREMENT]);
    seen.add(
      computeMeasurement({
        codeHash: hashExecutionCode(`${CODE} `),
        runtime: RUNTIME,
        limits: LIMITS,
      }),
    );
    seen.add(
      computeMeasurement({
        codeHash: hashExecutionCode(CODE),
        runtime: { ...RUNTIME, sandbox: "chaoscore.sandbox/3" },
        limits: LIMITS,
      }),
    );
    for (const key of Object.keys(LIMITS) as (keyof ExecutionLimits)[]) {
      seen.add(
        computeMeasurement({
          codeHash: hashExecutionCode(CODE),
          runtime: RUNTIME,
          limits: { ...LIMITS, [key]: LIMITS[key] + 1 },
        }),
      );
    }
    expect(seen.size).toBe(3 + Object.keys(LIMITS).length);
  });
});

describe("computeReportData", () => {
  it("hashes inputHash ‖ outputHash ‖ nonce as raw bytes", () => {
    const bytes = Buffer.concat([
      Buffer.from(INPUT_HASH.slice(2), "hex"),
      Buffer.from(OUTPUT_HASH.slice(2), "hex"),
      Buffer.from(NONCE.slice(2), "hex"),
    ]);
    expect(REPORT_DATA).toBe(sha256Hex(bytes));
  });

  it("refuses a nonce over 64 bytes", () => {
    expect(code(() => computeReportData(INPUT_HASH, OUTPUT_HASH, `0x${"00".repeat(65)}`))).toBe(
      "INVALID_HEX",
    );
  });
});

describe("hashExecutionInput", () => {
  it("binds the seed and the clock", () => {
    const hashes = new Set([
      INPUT_HASH,
      hashExecutionInput({ input: INPUT, seed: "x", clock: 0 }),
      hashExecutionInput({ input: INPUT, seed: "", clock: 1 }),
      hashExecutionInput({ input: { ...INPUT, for: 8 }, seed: "", clock: 0 }),
    ]);
    expect(hashes.size).toBe(4);
  });
});

describe("attestationHash", () => {
  it("is SHA-256 of the quote's canonical JSON", () => {
    const q = quote();
    expect(attestationHash(q)).toBe(sha256Hex(utf8(canonicalJson(q))));
  });

  it("refuses a non-quote", () => {
    expect(code(() => attestationHash({}))).toBe("ATTESTATION_MALFORMED");
  });
});

describe("parseQuote", () => {
  it("accepts JSON text and bytes", () => {
    const q = quote();
    expect(parseQuote(JSON.stringify(q))).toEqual(q);
    expect(parseQuote(utf8(JSON.stringify(q)))).toEqual(q);
    expect(code(() => parseQuote("{"))).toBe("ATTESTATION_MALFORMED");
  });
});

describe("verifyQuote", () => {
  it("accepts a valid quote and names the root", () => {
    const verified = verifyQuote(quote(), POLICY);
    expect(verified.root).toBe(ROOT.publicKey);
    expect(verified.attestationHash).toBe(attestationHash(quote()));
  });

  it("accepts a two-certificate chain (intermediate) under the root", () => {
    const intermediate = generateAttestationKey(seed("intermediate"));
    const enclaveCert = issueAttestationCertificate({
      subject: "enclave",
      publicKey: ENCLAVE.publicKey,
      issuer: "intermediate",
      issuerSecretKey: intermediate.secretKey,
      notBefore: T0 - 60,
      notAfter: T0 + 600,
    });
    const q = quote({ cert: enclaveCert });
    const chained = signQuote({
      ...q,
      timestamp: BigInt(q.timestamp),
      enclaveSecretKey: ENCLAVE.secretKey,
      certificateChain: [enclaveCert, certificate(ROOT, T0 + 600, intermediate.publicKey)],
    });
    expect(verifyQuote(chained, POLICY).root).toBe(ROOT.publicKey);
    expect(code(() => verifyQuote(q, POLICY))).toBe("ATTESTATION_CHAIN_INVALID");
  });

  it("checks the nonce and the provider when asked", () => {
    expect(
      code(() => verifyQuote(quote(), { ...POLICY, expectedNonce: `0x${"00".repeat(32)}` })),
    ).toBe("ATTESTATION_REPORT_DATA_MISMATCH");
    expect(code(() => verifyQuote(quote(), { ...POLICY, allowedProviders: ["aws-nitro"] }))).toBe(
      "ATTESTATION_MEASUREMENT_NOT_ALLOWED",
    );
  });

  it("refuses a malformed policy with INVALID_INPUT", () => {
    for (const bad of [
      { ...POLICY, trustedRoots: [] },
      { ...POLICY, trustedRoots: ["0x12"] },
      { ...POLICY, maxAgeSeconds: -1 },
      { ...POLICY, now: 1.5 },
      { ...POLICY, allowedMeasurements: ["nope"] },
    ]) {
      expect(code(() => verifyQuote(quote(), bad as AttestationPolicy))).toBe("INVALID_INPUT");
    }
  });

  it("fails with a coded error for any flipped character of a valid quote", () => {
    const text = JSON.stringify(quote());
    const allowed = new Set([
      "ATTESTATION_MALFORMED",
      "ATTESTATION_SIGNATURE_INVALID",
      "ATTESTATION_CHAIN_INVALID",
      "ATTESTATION_MEASUREMENT_NOT_ALLOWED",
      "ATTESTATION_STALE",
      "ATTESTATION_REPORT_DATA_MISMATCH",
    ]);
    for (let i = 0; i < text.length; i += 7) {
      const c = text[i] === "a" ? "b" : "a";
      const flipped = text.slice(0, i) + c + text.slice(i + 1);
      if (flipped === text) continue;
      const result = code(() => verifyQuote(flipped, POLICY));
      // A flip inside a key name may only rename nothing valid, so every flip fails.
      expect(result === null ? "accepted" : allowed.has(result) ? "coded" : result, `at ${i}`).toBe(
        "coded",
      );
    }
  });
});

describe("verifyRecordedExecution", () => {
  const policy = { trustedRoots: [ROOT.publicKey], maxAgeSeconds: 300, now: T0 + 20 };

  it("accepts the record", () => {
    expect(verifyRecordedExecution(RECORD, policy).measurement).toBe(MEASUREMENT);
  });

  it("detects a changed output, input, seed, clock or nonce", () => {
    for (const change of [
      { output: { approve: false } },
      { input: { for: 1, against: 3 } },
      { seed: "other" },
      { clock: 1 },
      { nonce: `0x${"00".repeat(32)}` as Hex },
    ]) {
      expect(code(() => verifyRecordedExecution({ ...RECORD, ...change }, policy))).toBe(
        "ATTESTATION_REPORT_DATA_MISMATCH",
      );
    }
  });

  it("detects other code or limits (the quote measures something else)", () => {
    expect(code(() => verifyRecordedExecution({ ...RECORD, code: `${CODE}\n` }, policy))).toBe(
      "ATTESTATION_MEASUREMENT_MISMATCH",
    );
    expect(
      code(() =>
        verifyRecordedExecution({ ...RECORD, limits: { ...LIMITS, timeoutMs: 1 } }, policy),
      ),
    ).toBe("ATTESTATION_MEASUREMENT_MISMATCH");
  });

  it("refuses a record without a quote, or malformed", () => {
    expect(code(() => verifyRecordedExecution({ ...RECORD, quote: null }, policy))).toBe(
      "EXECUTION_RECORD_MALFORMED",
    );
    expect(code(() => parseRecordedExecution({ ...RECORD, extra: 1 }))).toBe(
      "EXECUTION_RECORD_MALFORMED",
    );
    expect(code(() => parseRecordedExecution({ ...RECORD, output: { s: "\ud800" } }))).toBe(
      "EXECUTION_RECORD_MALFORMED",
    );
  });
});

describe("isWellFormedJsonValue", () => {
  it("finds lone surrogates in strings and keys, at any depth", () => {
    expect(isWellFormedJsonValue({ a: ["ok", { b: "😀" }] })).toBe(true);
    expect(isWellFormedJsonValue({ a: [{ b: "\udc00" }] })).toBe(false);
    expect(isWellFormedJsonValue({ "\ud800": 1 })).toBe(false);
    let deep: unknown = "x";
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(isWellFormedJsonValue(deep)).toBe(true);
  });
});

describe("signQuote", () => {
  it("produces a quote whose enclave key is derived from the secret", () => {
    const q: AttestationQuote = quote();
    expect(q.enclaveKey).toBe(ENCLAVE.publicKey);
    expect(q.certificateChain[0]?.publicKey).toBe(ENCLAVE.publicKey);
  });
});
