import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isChaosCoreError } from "../errors.js";
import { type EcdsaVerifier, nobleEcdsaVerifier } from "./ecdsa.js";
import { nodeEcdsaVerifier } from "./node-ecdsa.js";
import { INTEL_SGX_ROOT_CA_SHA256, type TdxPolicy, verifyTdxQuote } from "./tdx.js";
import type { TdxCollateral } from "./tdx-collateral.js";
import { parseTdxQuote } from "./tdx-quote.js";
import { parseCertificate, parseCrl, pemCertificates } from "./x509.js";

const DIR = join(import.meta.dirname, "..", "..", "..", "..", "vectors", "attestation");
type Case = {
  name: string;
  evidence?: string;
  evidenceBase64?: string;
  collateral?: Record<string, string>;
  now: number;
  policy: Omit<TdxPolicy, "now">;
  expected:
    | { ok: true; version: number; fmspc: string; tcbStatus: string; qeStatus: string }
    | { error: string };
};
const vectors = JSON.parse(readFileSync(join(DIR, "tdx.json"), "utf8")) as { cases: Case[] };
const file = (f: string) => readFileSync(join(DIR, f));
const evidenceOf = (c: Case): Uint8Array =>
  c.evidence !== undefined
    ? new Uint8Array(file(c.evidence))
    : new Uint8Array(Buffer.from(c.evidenceBase64 ?? "", "base64"));

/** The vector's collateral: files by name, or inline texts (…Text). */
export function collateralOf(c: {
  collateral?: Record<string, string>;
}): TdxCollateral | undefined {
  const col = c.collateral;
  if (col === undefined) return undefined;
  const text = (key: string) => col[`${key}Text`] ?? file(col[key] as string).toString("utf8");
  return {
    tcbInfo: text("tcbInfo"),
    tcbInfoIssuerChain: text("tcbInfoIssuerChain"),
    qeIdentity: text("qeIdentity"),
    qeIdentityIssuerChain: text("qeIdentityIssuerChain"),
    ...(col.pckCrl === undefined ? {} : { pckCrl: file(col.pckCrl).toString("base64") }),
  };
}

function codeOf(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    if (!isChaosCoreError(e)) throw e;
    return e.code;
  }
}

const v4 = new Uint8Array(file("tdx/spr-e4-quote-v4.dat"));
const NOW_V4 = Date.UTC(2023, 6, 1, 1) / 1000;

describe("verifyTdxQuote on vectors/attestation/tdx.json", () => {
  it("covers every TDX failure code", () => {
    const codes = new Set(
      vectors.cases.map((c) => ("error" in c.expected ? c.expected.error : "ok")),
    );
    for (const code of [
      "ok",
      "ATTESTATION_TDX_QUOTE_SIGNATURE_INVALID",
      "ATTESTATION_TDX_QE_BINDING_INVALID",
      "ATTESTATION_TDX_QE_REPORT_SIGNATURE_INVALID",
      "ATTESTATION_CHAIN_INVALID",
      "ATTESTATION_ROOT_UNTRUSTED",
      "ATTESTATION_CERT_EXPIRED",
      "ATTESTATION_COLLATERAL_INVALID",
      "ATTESTATION_COLLATERAL_MISMATCH",
      "ATTESTATION_COLLATERAL_EXPIRED",
      "ATTESTATION_TCB_STATUS_NOT_ALLOWED",
      "ATTESTATION_MEASUREMENT_NOT_ALLOWED",
      "ATTESTATION_REPORT_DATA_MISMATCH",
      "ATTESTATION_EVIDENCE_MALFORMED",
      "ATTESTATION_UNSUPPORTED_QUOTE",
    ]) {
      expect(codes).toContain(code);
    }
  });
  for (const ecdsa of [nobleEcdsaVerifier, nodeEcdsaVerifier] as EcdsaVerifier[]) {
    for (const c of vectors.cases) {
      it(`${c.name} (${ecdsa.name})`, () => {
        const run = () =>
          verifyTdxQuote(evidenceOf(c), { ...c.policy, now: c.now, ecdsa }, collateralOf(c));
        if ("error" in c.expected) {
          expect(codeOf(run)).toBe(c.expected.error);
          return;
        }
        const result = run();
        expect(result.platform).toBe("intel-tdx");
        expect(result.quote.version).toBe(c.expected.version);
        expect(result.pck.fmspc).toBe(c.expected.fmspc);
        expect(result.tcb.tcbStatus).toBe(c.expected.tcbStatus);
        expect(result.tcb.qeStatus).toBe(c.expected.qeStatus);
        expect(result.rootFingerprint).toBe(INTEL_SGX_ROOT_CA_SHA256);
      });
    }
  }
});

describe("parseTdxQuote", () => {
  it("reads the v4 quote's fields where go-tdx-guest's abi package puts them", () => {
    const q = parseTdxQuote(v4);
    expect(q.version).toBe(4);
    expect(q.qeVendorId).toBe("0x939a7233f79c4ca9940a0db3957f0607");
    expect(q.body.teeTcbSvn).toBe("0x03000400000000000000000000000000");
    expect(q.body.tdAttributes).toBe("0x0000004000000000");
    expect(q.body.reportData.length).toBe(2 + 128);
    expect(q.qeReport.isvSvn).toBe(4);
    expect(q.qeReport.isvProdId).toBe(2);
    expect(q.qeAuthData.length).toBe(32);
  });
  it("reads the v5 quote's TDX 1.5 body", () => {
    const q = parseTdxQuote(new Uint8Array(file("tdx/quote_v5_sample.dat")));
    expect(q.version).toBe(5);
    expect(q.bodyType).toBe(3);
    expect(q.body.mrServiceTd?.length).toBe(2 + 96);
  });
});

describe("the pinned Intel SGX Root CA", () => {
  it("is the root of the quotes' PCK chain, of the collateral chains and go-tdx-guest's trusted_root.pem", () => {
    const roots = [
      pemCertificates(parseTdxQuote(v4).pckChainPem).at(-1),
      pemCertificates(file("tdx/tcb_info_issuer_chain.pem").toString()).at(-1),
      pemCertificates(file("tdx/intel_sgx_root_ca.pem").toString())[0],
    ];
    for (const root of roots) {
      const x = new X509Certificate(root as Uint8Array);
      expect(x.fingerprint256.replaceAll(":", "").toLowerCase()).toBe(INTEL_SGX_ROOT_CA_SHA256);
      expect(x.subject).toContain("CN=Intel SGX Root CA");
    }
  });
  it("parseCertificate agrees with node:crypto on the PCK chain", () => {
    for (const der of pemCertificates(parseTdxQuote(v4).pckChainPem)) {
      const ours = parseCertificate(der);
      const node = new X509Certificate(der);
      expect(ours.notBefore).toBe(Date.parse(node.validFrom));
      expect(ours.notAfter).toBe(Date.parse(node.validTo));
      expect(ours.isCa).toBe(node.ca);
    }
  });
});

describe("parseCrl", () => {
  it("reads the PCK CRL's 44 revoked serial numbers (as openssl crl -text lists them)", () => {
    const crl = parseCrl(new Uint8Array(file("tdx/pckcrl")));
    expect(crl.revokedSerials.size).toBe(44);
    expect(crl.revokedSerials.has("6fc34e5023e728923435d61aa4b83c618166ad35")).toBe(true);
    expect(crl.revokedSerials.has("00efae6e9715fca13b87e333e8261ed6d990a926ad")).toBe(true);
    expect(new Date(crl.nextUpdate ?? 0).toISOString()).toBe("2023-07-08T07:27:52.000Z");
  });
});

describe("fuzz: no exception but a coded error escapes", () => {
  const collateral = collateralOf(vectors.cases[0] as Case);
  const policy = {
    now: NOW_V4,
    ecdsa: nodeEcdsaVerifier,
    allowedTcbStatuses: ["UpToDate", "NotSupported"],
  } as const;
  // One flip per byte, the flipped bit cycling through 0, 5 and 7 (low bit, ASCII case, high bit):
  // every byte is covered on every run; the property test below adds random flips.
  it("every single-byte change of the v4 quote outside its unsigned bytes fails (exhaustive, one flip per byte)", {
    timeout: 180_000,
  }, () => {
    const accepted: number[] = [];
    const flips = [1, 0x20, 0x80];
    for (let at = 12; at < v4.length - 1; at++) {
      const copy = Uint8Array.from(v4);
      copy[at] = (copy[at] as number) ^ (flips[at % 3] as number);
      if (codeOf(() => verifyTdxQuote(copy, policy, collateral)) === "ok") accepted.push(at);
    }
    expect(accepted).toEqual([]);
  });
  it("a changed byte in the signed parts fails with an ATTESTATION_ code", () => {
    const pemStart = Buffer.from(v4).indexOf("-----BEGIN CERTIFICATE-----");
    expect(pemStart).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.nat({ max: v4.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const copy = Uint8Array.from(v4);
        copy[at] = (copy[at] as number) ^ xor;
        // PEM line breaks are whitespace (RFC 7468: CR, LF, space): a "\n" changed to "\r" in the
        // PCK chain is the same certificate chain, not a changed one.
        const pemSpace = (b: number | undefined) => b === 0x0a || b === 0x0d || b === 0x20;
        fc.pre(!(at >= pemStart && pemSpace(v4[at]) && pemSpace(copy[at])));
        const code = codeOf(() => verifyTdxQuote(copy, policy, collateral));
        // unsigned: the reserved header bytes 8..11 and the trailing NUL of the PEM chain
        if (code === "ok") expect(at < 12 || at >= v4.length - 1).toBe(true);
        else expect(code).toMatch(/^ATTESTATION_/);
      }),
      { numRuns: 300, examples: [[2650, 7]] },
    );
  });
  it("truncations and random bytes fail with a coded error", () => {
    fc.assert(
      fc.property(fc.nat({ max: v4.length - 1 }), (n) => {
        expect(codeOf(() => verifyTdxQuote(v4.subarray(0, n), policy))).toMatch(
          /^ATTESTATION_(EVIDENCE_MALFORMED|UNSUPPORTED_QUOTE)$/,
        );
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => {
        expect(codeOf(() => verifyTdxQuote(bytes, policy))).toMatch(/^ATTESTATION_/);
      }),
      { numRuns: 300 },
    );
  });
  it("changed collateral text fails with a coded error", () => {
    const base = collateral as TdxCollateral;
    fc.assert(
      fc.property(
        fc.nat({ max: base.tcbInfo.length - 1 }),
        fc.string({ minLength: 1, maxLength: 1 }),
        (at, ch) => {
          // A signature hex digit in the other case is the same signature (hex is read case-insensitively).
          const inSignature = at > base.tcbInfo.indexOf('"signature"');
          fc.pre(!(inSignature && ch.toLowerCase() === (base.tcbInfo[at] ?? "").toLowerCase()));
          // Whitespace after the closing brace is outside the signed JSON (the trailing newline).
          fc.pre(!(at >= base.tcbInfo.trimEnd().length && /^\s$/.test(ch)));
          const tcbInfo = base.tcbInfo.slice(0, at) + ch + base.tcbInfo.slice(at + 1);
          const code = codeOf(() => verifyTdxQuote(v4, policy, { ...base, tcbInfo }));
          if (tcbInfo !== base.tcbInfo) expect(code).toMatch(/^ATTESTATION_/);
        },
      ),
      { numRuns: 200 },
    );
  });
});
