import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isChaosCoreError } from "../errors.js";
import { nodeEcdsaVerifier } from "./node-ecdsa.js";
import { verifyRsaPssSha384 } from "./rsa-pss.js";
import { parseSnpReport, type SnpPolicy, verifySnpReport } from "./snp.js";
import { AMD_ARK_MILAN_SHA256, parseAmdCertificate } from "./snp-certs.js";

const DIR = join(import.meta.dirname, "..", "..", "..", "..", "vectors", "attestation");
type Case = {
  name: string;
  report?: string;
  reportBase64?: string;
  certificatesBase64: [string, string, string];
  now: number;
  policy: Omit<SnpPolicy, "now">;
  expected: Record<string, unknown>;
};
const vectors = JSON.parse(readFileSync(join(DIR, "snp.json"), "utf8")) as { cases: Case[] };
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, "base64"));
const reportOf = (c: Case): Uint8Array =>
  c.report !== undefined
    ? new Uint8Array(readFileSync(join(DIR, c.report)))
    : bytes(c.reportBase64 ?? "");
const certsOf = (c: Case) =>
  c.certificatesBase64.map(bytes) as [Uint8Array, Uint8Array, Uint8Array];

function codeOf(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    if (!isChaosCoreError(e)) throw e;
    return e.code;
  }
}

const valid = vectors.cases.find((c) => c.name === "valid") as Case;
const report = reportOf(valid);
const certs = certsOf(valid);

describe("verifySnpReport on vectors/attestation/snp.json", () => {
  it.each(vectors.cases.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const run = () => verifySnpReport(reportOf(c), certsOf(c), { ...c.policy, now: c.now });
    if ("error" in c.expected) {
      expect(codeOf(run)).toBe(c.expected.error);
      return;
    }
    const v = run();
    expect({
      ok: true,
      version: v.report.version,
      measurement: v.report.measurement,
      reportedTcb: v.report.reportedTcb,
      rootFingerprint: v.rootFingerprint,
    }).toEqual(c.expected);
    // the same with OpenSSL's ECDSA and with base64 inputs
    const fast = verifySnpReport(
      Buffer.from(reportOf(c)).toString("base64"),
      c.certificatesBase64,
      { ...c.policy, now: c.now, ecdsa: nodeEcdsaVerifier },
    );
    expect(fast.report.measurement).toBe(v.report.measurement);
  });

  it("has the tampered cases the issue asks for, each with a distinct reason", () => {
    const codes = new Set(vectors.cases.map((c) => JSON.stringify(c.expected)));
    expect(vectors.cases.length).toBeGreaterThanOrEqual(20);
    expect(codes.size).toBeGreaterThanOrEqual(10);
  });
});

describe("the AMD chain", () => {
  it("parses the VCEK, ASK and ARK as node:crypto does, and pins the Milan ARK", () => {
    for (const der of certs) {
      const mine = parseAmdCertificate(der);
      const theirs = new X509Certificate(der);
      expect(mine.notBefore).toBe(Date.parse(theirs.validFrom));
      expect(mine.notAfter).toBe(Date.parse(theirs.validTo));
      expect(mine.fingerprint).toBe(theirs.fingerprint256.replaceAll(":", "").toLowerCase());
    }
    expect(parseAmdCertificate(certs[2]).fingerprint).toBe(AMD_ARK_MILAN_SHA256);
  });

  it("checks RSASSA-PSS as node:crypto does (the ASK's signature over the VCEK)", () => {
    const [vcek, ask] = [parseAmdCertificate(certs[0]), parseAmdCertificate(certs[1])];
    if (ask.publicKey.kind !== "rsa") throw new Error("the ASK is RSA");
    expect(verifyRsaPssSha384(ask.publicKey.key, vcek.tbs, vcek.signature)).toBe(true);
    expect(new X509Certificate(certs[0]).verify(new X509Certificate(certs[1]).publicKey)).toBe(
      true,
    );
    const bad = Uint8Array.from(vcek.signature);
    bad[5] = (bad[5] as number) ^ 1;
    expect(verifyRsaPssSha384(ask.publicKey.key, vcek.tbs, bad)).toBe(false);
    expect(verifyRsaPssSha384(ask.publicKey.key, vcek.tbs, bad.subarray(1))).toBe(false);
  });
});

describe("verifySnpReport under random corruption", () => {
  const policy = { ...valid.policy, now: valid.now, ecdsa: nodeEcdsaVerifier };
  it("fails with an ATTESTATION_* code when any byte of the report changes", () => {
    fc.assert(
      fc.property(fc.nat({ max: report.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const copy = Uint8Array.from(report);
        copy[at] = (copy[at] as number) ^ x;
        expect(codeOf(() => verifySnpReport(copy, certs, policy))).toMatch(/^ATTESTATION_/);
      }),
      { numRuns: 300 },
    );
  });

  it("fails with an ATTESTATION_* code when any byte of a certificate changes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (which, pos, x) => {
          const copy = certs.map((c) => Uint8Array.from(c)) as typeof certs;
          const target = copy[which] as Uint8Array;
          const at = pos % target.length;
          target[at] = (target[at] as number) ^ x;
          expect(codeOf(() => verifySnpReport(report, copy, policy))).toMatch(/^ATTESTATION_/);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses arbitrary bytes with a coded error, never a stray exception", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1300 }), (junk) => {
        expect(codeOf(() => parseSnpReport(junk))).toMatch(/^ATTESTATION_/);
        expect(codeOf(() => verifySnpReport(report, [junk, certs[1], certs[2]], policy))).toMatch(
          /^ATTESTATION_/,
        );
      }),
      { numRuns: 300 },
    );
  });
});
