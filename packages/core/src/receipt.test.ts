import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isChaosCoreError } from "./errors.js";
import type { Hex } from "./hex.js";
import { parseReceipt, type VerifyReceiptOptions, verifyReceipt } from "./receipt.js";
import { type AttestationTrustPolicy, verifyTeeEvidence } from "./tee/evidence.js";

const DIR = join(import.meta.dirname, "..", "..", "..", "vectors", "receipts");
const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .sort();
const logKey = readFileSync(join(DIR, "log-key.txt"), "utf8").trim();
const load = (f: string) => JSON.parse(readFileSync(join(DIR, f), "utf8"));
const RECEIPT_CODES = [
  "RECEIPT_MALFORMED",
  "RECEIPT_UNSUPPORTED_FORMAT",
  "RECEIPT_CHECKPOINT_INVALID",
  "RECEIPT_SIGNATURE_INVALID",
  "RECEIPT_SIGNER_PROOF_INVALID",
  "RECEIPT_INCLUSION_INVALID",
  "RECEIPT_OUTCOME_MISMATCH",
  "RECEIPT_PAYLOAD_MISMATCH",
  "RECEIPT_ATTESTATION_MISMATCH",
  "RECEIPT_ATTESTATION_INVALID",
  "RECEIPT_ANCHOR_MISMATCH",
  "RECEIPT_SHARD_UNCERTIFIED",
  "RECEIPT_SHARD_CERTIFICATE_INVALID",
  "RECEIPT_SHARD_MISMATCH",
];

type Vector = {
  attestationRoots?: Hex[];
  attestationPolicy?: AttestationTrustPolicy;
};
const optionsOf = (v: Vector): VerifyReceiptOptions => ({
  evidenceVerifier: verifyTeeEvidence,
  ...(v.attestationRoots ? { attestation: { trustedRoots: v.attestationRoots } } : {}),
  ...(v.attestationPolicy ? { attestationPolicy: v.attestationPolicy } : {}),
});

/** The ATTESTATION_* code behind a RECEIPT_ATTESTATION_INVALID. */
function causeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isChaosCoreError(error)) return String(error.details?.cause ?? error.code);
    throw error;
  }
  return "OK";
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isChaosCoreError(error)) return error.code;
    throw error; // anything else is a bug: a verifier never throws stray errors
  }
  return "OK";
}

describe("verifyReceipt on vectors/receipts", () => {
  it("has both valid and tampered vectors", () => {
    expect(existsSync(DIR)).toBe(true);
    expect(files.filter((f) => f.startsWith("valid-")).length).toBeGreaterThanOrEqual(3);
    expect(files.filter((f) => f.startsWith("tampered-")).length).toBeGreaterThanOrEqual(10);
  });

  it.each(files.filter((f) => f.startsWith("valid-")))("%s verifies", (f) => {
    const v = load(f);
    const options = optionsOf(v);
    expect(verifyReceipt(v.receipt, logKey, options)).toEqual(v.expected);
    // The same receipt as JSON text and as bytes.
    expect(verifyReceipt(JSON.stringify(v.receipt), logKey, options)).toEqual(v.expected);
    expect(
      verifyReceipt(new TextEncoder().encode(JSON.stringify(v.receipt)), logKey, options),
    ).toEqual(v.expected);
  });

  it("judges an attestation only under a policy, and fails it under a foreign root", () => {
    const v = load("valid-attested.json");
    expect(verifyReceipt(v.receipt, logKey).attestation).toBe("bound");
    const foreign = { attestation: { trustedRoots: [`0x${"11".repeat(32)}` as const] } };
    expect(codeOf(() => verifyReceipt(v.receipt, logKey, foreign))).toBe(
      "RECEIPT_ATTESTATION_INVALID",
    );
  });

  it.each(files.filter((f) => f.startsWith("tampered-")))("%s fails with its code", (f) => {
    const v = load(f);
    expect(RECEIPT_CODES).toContain(v.expectedError);
    const options = optionsOf(v);
    expect(codeOf(() => verifyReceipt(v.receipt, logKey, options))).toBe(v.expectedError);
    if (v.expectedCause !== undefined) {
      expect(causeOf(() => verifyReceipt(v.receipt, logKey, options))).toBe(v.expectedCause);
    }
  });

  it("says which platform, measurements and TCB status the real evidence has", () => {
    const nitro = verifyReceipt(load("valid-v3-nitro.json").receipt, logKey, {
      attestationPolicy: { requireAgentBinding: false },
      evidenceVerifier: verifyTeeEvidence,
    });
    expect(nitro.attestation).toBe("verified");
    expect(nitro.attestationResult?.platform).toBe("aws-nitro");
    expect(nitro.attestationResult?.measurements["0"]).toMatch(/^0xea4212ee/);
    expect(nitro.attestationResult?.tcbStatus).toBe("n/a");
    expect(nitro.attestationResult?.agentBound).toBe(false);
    const tdx = verifyReceipt(load("valid-v3-tdx.json").receipt, logKey, {
      attestationPolicy: {
        requireAgentBinding: false,
        tdx: { allowedTcbStatuses: ["UpToDate", "NotSupported"] },
      },
      evidenceVerifier: verifyTeeEvidence,
    });
    expect(tdx.attestationResult).toMatchObject({
      platform: "intel-tdx",
      tcbStatus: "NotSupported",
      qeStatus: "UpToDate",
      timestamp: null,
      agentBound: false,
    });
    expect(Object.keys(tdx.attestationResult?.measurements ?? {})).toEqual([
      "mrTd",
      "rtmr0",
      "rtmr1",
      "rtmr2",
      "rtmr3",
    ]);
    // without a policy the evidence is only bound (hashes to the signed attestationHash)
    expect(verifyReceipt(load("valid-v3-tdx.json").receipt, logKey).attestation).toBe("bound");
    // real evidence is judged only with a verifier given (verifyReceipt does not import it)
    expect(
      causeOf(() =>
        verifyReceipt(load("valid-v3-tdx.json").receipt, logKey, { attestationPolicy: {} }),
      ),
    ).toBe("ATTESTATION_VERIFIER_MISSING");
    // a mock quote under a policy that names no mock roots cannot be judged
    expect(
      causeOf(() =>
        verifyReceipt(load("valid-attested.json").receipt, logKey, { attestationPolicy: {} }),
      ),
    ).toBe("ATTESTATION_CHAIN_INVALID");
  });

  it("fails every valid receipt under another log's key", () => {
    const other =
      "vectors.chaoscore.dev/log/receipts+00000000+AcXh6wmFsxBKjRsH3rwmk0G0ClUNpq8klSfB1L4CiTbX";
    const v = load("valid-action.json");
    expect(codeOf(() => verifyReceipt(v.receipt, other))).toBe("RECEIPT_CHECKPOINT_INVALID");
  });

  it.each([
    ["not JSON", "{"],
    ["invalid UTF-8", Uint8Array.of(0xff, 0xfe)],
    ["null", null],
    ["an array", []],
    ["a number", 42],
  ])("rejects %s as RECEIPT_MALFORMED", (_, input) => {
    expect(codeOf(() => parseReceipt(input))).toBe("RECEIPT_MALFORMED");
  });
});

describe("verifyReceipt under random corruption", () => {
  const runs = process.env.CI ? 3000 : 300;
  const valid = files.filter((f) => f.startsWith("valid-")).map((f) => load(f).receipt);
  const texts = valid.map((r) => new TextEncoder().encode(JSON.stringify(r)));

  it("a flipped bit anywhere in a receipt makes verification fail with a receipt code", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: texts.length - 1 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (which, pos, bit) => {
          const bytes = Uint8Array.from(texts[which] as Uint8Array);
          const i = pos % bytes.length;
          bytes[i] = (bytes[i] as number) ^ (1 << bit);
          expect(RECEIPT_CODES).toContain(codeOf(() => verifyReceipt(bytes, logKey)));
        },
      ),
      { numRuns: runs },
    );
  });

  // Thousands of full verifications: its own timeout, so a loaded CI machine does not fail it.
  it("every single-byte change of one receipt fails (exhaustive over one byte value)", {
    timeout: 180_000,
  }, () => {
    const bytes = texts[0] as Uint8Array;
    for (let i = 0; i < bytes.length; i++) {
      const copy = Uint8Array.from(bytes);
      copy[i] = (copy[i] as number) ^ 0x01;
      const code = codeOf(() => verifyReceipt(copy, logKey));
      if (!RECEIPT_CODES.includes(code)) {
        throw new Error(`byte ${i} (${String.fromCharCode(bytes[i] as number)}) → ${code}`);
      }
    }
  });
});
