import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isChaosCoreError } from "../errors.js";
import { sha256 } from "../hash.js";
import { type EcdsaVerifier, nobleEcdsaVerifier } from "./ecdsa.js";
import {
  NITRO_ROOT_G1_SHA256,
  type NitroPolicy,
  parseNitroDocument,
  verifyNitroDocument,
} from "./nitro.js";
import { nodeEcdsaVerifier } from "./node-ecdsa.js";
import { parseCertificate } from "./x509.js";

const DIR = join(import.meta.dirname, "..", "..", "..", "..", "vectors", "attestation");
type Case = {
  name: string;
  evidence?: string;
  evidenceBase64?: string;
  now: number;
  policy: Omit<NitroPolicy, "now">;
  expected:
    | { ok: true; timestamp: number; moduleId: string; pcr0: string; rootFingerprint: string }
    | { error: string };
};
const vectors = JSON.parse(readFileSync(join(DIR, "nitro.json"), "utf8")) as { cases: Case[] };
const evidenceOf = (c: Case): Uint8Array =>
  c.evidence !== undefined
    ? new Uint8Array(readFileSync(join(DIR, c.evidence)))
    : new Uint8Array(Buffer.from(c.evidenceBase64 ?? "", "base64"));
const real = new Uint8Array(readFileSync(join(DIR, "nitro", "cape-2022-09-15.cbor")));
const REAL_NOW = 1663263864;

/** Runs `f` and returns the ChaosCoreError code it throws (a non-coded throw fails the test). */
function codeOf(f: () => unknown): string | "ok" {
  try {
    f();
    return "ok";
  } catch (e) {
    if (!isChaosCoreError(e)) throw e;
    return e.code;
  }
}

describe("verifyNitroDocument on vectors/attestation/nitro.json", () => {
  it("has the real documents and one case per failure", () => {
    expect(vectors.cases.filter((c) => "ok" in c.expected)).toHaveLength(2);
    expect(
      new Set(vectors.cases.map((c) => ("error" in c.expected ? c.expected.error : "ok"))),
    ).toEqual(
      new Set([
        "ok",
        "ATTESTATION_NITRO_SIGNATURE_INVALID",
        "ATTESTATION_CHAIN_INVALID",
        "ATTESTATION_ROOT_UNTRUSTED",
        "ATTESTATION_CERT_EXPIRED",
        "ATTESTATION_STALE",
        "ATTESTATION_MEASUREMENT_NOT_ALLOWED",
        "ATTESTATION_REPORT_DATA_MISMATCH",
        "ATTESTATION_EVIDENCE_MALFORMED",
        "ATTESTATION_ALGORITHM_UNSUPPORTED",
      ]),
    );
  });
  for (const ecdsa of [nobleEcdsaVerifier, nodeEcdsaVerifier] as EcdsaVerifier[]) {
    for (const c of vectors.cases) {
      it(`${c.name} (${ecdsa.name})`, () => {
        const run = () => verifyNitroDocument(evidenceOf(c), { ...c.policy, now: c.now, ecdsa });
        if ("error" in c.expected) {
          expect(codeOf(run)).toBe(c.expected.error);
          return;
        }
        const result = run();
        expect(result.platform).toBe("aws-nitro");
        expect(result.timestamp).toBe(c.expected.timestamp);
        expect(result.document.moduleId).toBe(c.expected.moduleId);
        expect(result.document.pcrs["0"]).toBe(c.expected.pcr0);
        expect(result.rootFingerprint).toBe(c.expected.rootFingerprint);
      });
    }
  }
  it("accepts the base64 text of a document", () => {
    expect(
      verifyNitroDocument(Buffer.from(real).toString("base64"), { now: REAL_NOW }).timestamp,
    ).toBe(1663263808);
  });
  it("refuses a malformed policy with INVALID_INPUT", () => {
    expect(codeOf(() => verifyNitroDocument(real, { now: -1 }))).toBe("INVALID_INPUT");
    expect(
      codeOf(() => verifyNitroDocument(real, { now: REAL_NOW, expectedNonce: "0xZZ" as never })),
    ).toBe("INVALID_INPUT");
  });
});

describe("the pinned AWS Nitro Enclaves Root G1", () => {
  it("is the first certificate of the real documents' cabundle", () => {
    const doc = parseNitroDocument(real);
    const root = doc.cabundle[0] as Uint8Array;
    expect(Buffer.from(sha256(root)).toString("hex")).toBe(NITRO_ROOT_G1_SHA256);
    expect(new X509Certificate(root).subject).toBe("C=US\nO=Amazon\nOU=AWS\nCN=aws.nitro-enclaves");
  });
});

describe("parseCertificate agrees with node:crypto's X509Certificate", () => {
  const doc = parseNitroDocument(real);
  for (const [i, der] of [doc.certificate, ...doc.cabundle].entries()) {
    it(`certificate ${i}`, () => {
      const ours = parseCertificate(der);
      const node = new X509Certificate(der);
      expect(ours.notBefore).toBe(Date.parse(node.validFrom));
      expect(ours.notAfter).toBe(Date.parse(node.validTo));
      expect(ours.isCa).toBe(node.ca);
      expect(ours.serialNumber.toUpperCase().replace(/^0+/, "")).toBe(
        node.serialNumber.replace(/^0+/, ""),
      );
      const jwk = node.publicKey.export({ format: "jwk" });
      expect(Buffer.from(ours.publicKey.subarray(1, 49)).toString("base64url")).toBe(jwk.x);
      expect(ours.fingerprint.toUpperCase()).toBe(node.fingerprint256.replaceAll(":", ""));
    });
  }
});

describe("fuzz: no exception but a coded error escapes", () => {
  it("a flipped byte anywhere fails with an ATTESTATION_ code (or still verifies only if unsigned)", () => {
    fc.assert(
      fc.property(fc.nat({ max: real.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const copy = Uint8Array.from(real);
        copy[at] = (copy[at] as number) ^ xor;
        const code = codeOf(() =>
          verifyNitroDocument(copy, { now: REAL_NOW, ecdsa: nodeEcdsaVerifier }),
        );
        // the COSE unprotected header (one byte: an empty map) is the only unsigned part
        if (code === "ok") expect(at).toBe(6);
        else expect(code).toMatch(/^ATTESTATION_/);
      }),
      { numRuns: 300 },
    );
  });
  it("truncations and random bytes fail with ATTESTATION_EVIDENCE_MALFORMED", () => {
    fc.assert(
      fc.property(fc.nat({ max: real.length - 1 }), (n) => {
        expect(codeOf(() => verifyNitroDocument(real.subarray(0, n), { now: REAL_NOW }))).toBe(
          "ATTESTATION_EVIDENCE_MALFORMED",
        );
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        expect(codeOf(() => verifyNitroDocument(bytes, { now: REAL_NOW }))).toMatch(
          /^ATTESTATION_/,
        );
      }),
      { numRuns: 300 },
    );
  });
});
