/**
 * AMD SEV-SNP attestation reports (AMD, "SEV Secure Nested Paging Firmware
 * ABI Specification" #56860, Table "ATTESTATION_REPORT Structure"; versions 2,
 * 3 and 5, 0x4A0 bytes), verified against the VCEK → ASK → ARK chain of AMD's
 * KDS (snp-certs.ts). Pure; runs in Node and the browser.
 *
 * @module
 */
import { fail } from "../errors.js";
import { base64ToBytes, bytesToHex, type Hex, isHex } from "../hex.js";
import { type EcdsaVerifier, nobleEcdsaVerifier } from "./ecdsa.js";
import type { SignatureCache } from "./signature-cache.js";
import {
  AMD_ARK_GENOA_SHA256,
  AMD_ARK_MILAN_SHA256,
  type AmdCertificate,
  parseAmdCertificate,
  VCEK_EXTENSIONS,
  vcekSpl,
  verifyAmdChain,
} from "./snp-certs.js";

/** Provider name of SEV-SNP evidence. */
export const SNP_PLATFORM = "amd-sev-snp";
/** Size of an attestation report. */
export const SNP_REPORT_BYTES = 0x4a0;
/** The report versions this verifier reads. */
export const SNP_REPORT_VERSIONS = [2, 3, 5] as const;
const SIGNED_BYTES = 0x2a0;
const ECDSA_P384_SHA384 = 1;
const POLICY_DEBUG = 1n << 19n;

/** A TCB_VERSION (Milan/Genoa layout): security patch levels per component. */
export type SnpTcb = { bootLoader: number; tee: number; snp: number; microcode: number };

/** The fields of a report this verifier reads and reports. */
export type SnpReport = {
  version: number;
  guestSvn: number;
  /** The guest policy (u64). */
  policy: bigint;
  vmpl: number;
  /** 0 = VCEK, 1 = VLEK (bits 2–4 of the key-info word). */
  signingKey: number;
  currentTcb: SnpTcb;
  reportedTcb: SnpTcb;
  committedTcb: SnpTcb;
  launchTcb: SnpTcb;
  reportData: Hex;
  measurement: Hex;
  hostData: Hex;
  idKeyDigest: Hex;
  authorKeyDigest: Hex;
  reportId: Hex;
  chipId: Hex;
  /** Bytes 0..0x2A0, what the VCEK signs. */
  signed: Uint8Array;
  /** r ‖ s, big-endian, 48 bytes each. */
  signature: Uint8Array;
};

/** What an SNP verification checks beyond the signatures. */
export type SnpPolicy = {
  /** Unix seconds at which the certificates must be valid. */
  now: number;
  /** Accepted ARKs (SHA-256 of the DER, hex without 0x); default: Milan and Genoa. */
  trustedRootFingerprints?: readonly string[];
  /** Accepted MEASUREMENT values (0x-hex, 48 bytes). */
  allowedMeasurements?: readonly Hex[];
  /** Least accepted REPORTED_TCB, per component. */
  minimumTcb?: Partial<SnpTcb>;
  /** Accept a guest whose policy allows debugging (default false). */
  allowDebug?: boolean;
  /** When given, REPORT_DATA (64 bytes) must equal it. */
  expectedReportData?: Hex;
  ecdsa?: EcdsaVerifier;
  /** Remembers the chain's RSASSA-PSS verifications (give `ecdsa` a cachingEcdsaVerifier too). */
  signatureCache?: SignatureCache;
};

/** The result of a passing verification. */
export type VerifiedSnpReport = {
  platform: typeof SNP_PLATFORM;
  report: SnpReport;
  rootFingerprint: string;
  /** SHA-256 of the VCEK certificate (lowercase hex): a cache key for the chain check. */
  vcekFingerprint: string;
};

const u32 = (b: Uint8Array, at: number): number =>
  ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16)) +
  (b[at + 3] as number) * 0x1000000;
const u64 = (b: Uint8Array, at: number): bigint =>
  BigInt(u32(b, at)) | (BigInt(u32(b, at + 4)) << 32n);
const tcb = (b: Uint8Array, at: number): SnpTcb => ({
  bootLoader: b[at] as number,
  tee: b[at + 1] as number,
  snp: b[at + 6] as number,
  microcode: b[at + 7] as number,
});
const hex = (b: Uint8Array, at: number, n: number): Hex => bytesToHex(b.subarray(at, at + n));
const isZero = (b: Uint8Array, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
};

/**
 * Parses an attestation report (0x4A0 bytes, raw or base64).
 * @throws ChaosCoreError ATTESTATION_EVIDENCE_MALFORMED (size, non-zero
 *   signature padding), ATTESTATION_UNSUPPORTED_QUOTE (another version, a VLEK
 *   signature), ATTESTATION_ALGORITHM_UNSUPPORTED (not ECDSA P-384 SHA-384).
 */
export function parseSnpReport(input: Uint8Array | string): SnpReport {
  let b: Uint8Array;
  try {
    b = typeof input === "string" ? base64ToBytes(input) : input;
  } catch {
    return fail("ATTESTATION_EVIDENCE_MALFORMED", "the report is not base64");
  }
  if (!(b instanceof Uint8Array) || b.length !== SNP_REPORT_BYTES) {
    fail("ATTESTATION_EVIDENCE_MALFORMED", `an SNP report is ${SNP_REPORT_BYTES} bytes`, {
      length: b instanceof Uint8Array ? b.length : null,
    });
  }
  const version = u32(b, 0);
  if (!(SNP_REPORT_VERSIONS as readonly number[]).includes(version)) {
    fail("ATTESTATION_UNSUPPORTED_QUOTE", `SNP report version ${version} is not supported`, {
      version,
    });
  }
  if (u32(b, 0x34) !== ECDSA_P384_SHA384) {
    fail("ATTESTATION_ALGORITHM_UNSUPPORTED", "the report is not signed with ECDSA P-384 SHA-384");
  }
  const signingKey = (u32(b, 0x48) >>> 2) & 0x7;
  if (signingKey !== 0) {
    fail("ATTESTATION_UNSUPPORTED_QUOTE", "only VCEK-signed reports are supported (not VLEK)", {
      signingKey,
    });
  }
  // r and s are 72-byte little-endian fields; a P-384 value fills 48 bytes of each
  const sig = SIGNED_BYTES;
  if (!isZero(b, sig + 48, sig + 72) || !isZero(b, sig + 120, SNP_REPORT_BYTES)) {
    fail("ATTESTATION_EVIDENCE_MALFORMED", "the signature's padding is not zero");
  }
  const signature = new Uint8Array(96);
  for (let i = 0; i < 48; i++) {
    signature[i] = b[sig + 47 - i] as number;
    signature[48 + i] = b[sig + 72 + 47 - i] as number;
  }
  return {
    version,
    guestSvn: u32(b, 0x04),
    policy: u64(b, 0x08),
    vmpl: u32(b, 0x30),
    signingKey,
    currentTcb: tcb(b, 0x38),
    reportData: hex(b, 0x50, 64),
    measurement: hex(b, 0x90, 48),
    hostData: hex(b, 0xc0, 32),
    idKeyDigest: hex(b, 0xe0, 48),
    authorKeyDigest: hex(b, 0x110, 48),
    reportId: hex(b, 0x140, 32),
    reportedTcb: tcb(b, 0x180),
    chipId: hex(b, 0x1a0, 64),
    committedTcb: tcb(b, 0x1e0),
    launchTcb: tcb(b, 0x1f0),
    signed: b.subarray(0, SIGNED_BYTES),
    signature,
  };
}

/** The three certificates: the VCEK, the ASK, the ARK (DER, or base64 of DER). */
export type SnpCertificates = readonly [
  Uint8Array | string,
  Uint8Array | string,
  Uint8Array | string,
];

const parseCerts = (certs: SnpCertificates) =>
  certs.map((c) => {
    let der: Uint8Array;
    try {
      der = typeof c === "string" ? base64ToBytes(c) : c;
    } catch {
      return fail("ATTESTATION_CHAIN_INVALID", "a certificate is not base64");
    }
    return parseAmdCertificate(der);
  }) as unknown as [AmdCertificate, AmdCertificate, AmdCertificate];

/**
 * Verifies an SEV-SNP attestation report. Steps, in order (the first failure is the result):
 *
 * 1. layout, version, algorithm                    → ATTESTATION_EVIDENCE_MALFORMED / _UNSUPPORTED_QUOTE / _ALGORITHM_UNSUPPORTED
 * 2. VCEK → ASK → ARK (pinned), valid at `now`, RSASSA-PSS signatures
 *                                                  → ATTESTATION_ROOT_UNTRUSTED / _CERT_EXPIRED / _CHAIN_INVALID
 * 3. the VCEK is the report's chip (hwID = CHIP_ID) and TCB (SPL extensions = REPORTED_TCB)
 *                                                  → ATTESTATION_SNP_VCEK_MISMATCH
 * 4. the report's ECDSA P-384 signature by the VCEK → ATTESTATION_SNP_REPORT_SIGNATURE_INVALID
 * 5. REPORTED_TCB at least `minimumTcb`            → ATTESTATION_TCB_STATUS_NOT_ALLOWED
 * 6. guest policy DEBUG bit                        → ATTESTATION_DEBUG_NOT_ALLOWED
 * 7. MEASUREMENT allow-list                        → ATTESTATION_MEASUREMENT_NOT_ALLOWED
 * 8. expected REPORT_DATA                          → ATTESTATION_REPORT_DATA_MISMATCH
 *
 * Reports carry no time: freshness comes from a nonce bound in REPORT_DATA.
 *
 * @throws ChaosCoreError with the codes above; INVALID_INPUT for a malformed policy.
 * @example verifySnpReport(reportBytes, [vcek, ask, ark], { now, allowedMeasurements: [m] })
 */
export function verifySnpReport(
  input: Uint8Array | string,
  certificates: SnpCertificates,
  policy: SnpPolicy,
): VerifiedSnpReport {
  if (!Number.isSafeInteger(policy.now) || policy.now < 0) {
    fail("INVALID_INPUT", "policy.now must be unix seconds");
  }
  for (const m of policy.allowedMeasurements ?? []) {
    if (!isHex(m, 48)) fail("INVALID_INPUT", "allowedMeasurements are 48-byte hex values");
  }
  const report = parseSnpReport(input);
  if (!Array.isArray(certificates) || certificates.length !== 3) {
    fail("ATTESTATION_CHAIN_INVALID", "the evidence carries the VCEK, the ASK and the ARK");
  }
  const chain = parseCerts(certificates);
  verifyAmdChain(chain, {
    atMs: policy.now * 1000,
    trustedRootFingerprints: policy.trustedRootFingerprints ?? [
      AMD_ARK_MILAN_SHA256,
      AMD_ARK_GENOA_SHA256,
    ],
    ...(policy.signatureCache === undefined ? {} : { signatureCache: policy.signatureCache }),
  });
  const vcek = chain[0];
  const hwId = vcek.extensions.get(VCEK_EXTENSIONS.hwId);
  if (hwId === undefined || bytesToHex(hwId) !== report.chipId) {
    fail("ATTESTATION_SNP_VCEK_MISMATCH", "the VCEK is for another chip than the report's", {
      chipId: report.chipId,
    });
  }
  for (const k of ["bootLoader", "tee", "snp", "microcode"] as const) {
    if (vcekSpl(vcek, VCEK_EXTENSIONS[k]) !== report.reportedTcb[k]) {
      fail("ATTESTATION_SNP_VCEK_MISMATCH", `the VCEK's ${k} SPL is not the report's`, {
        component: k,
        report: report.reportedTcb[k],
        vcek: vcekSpl(vcek, VCEK_EXTENSIONS[k]) ?? null,
      });
    }
  }
  const ecdsa = policy.ecdsa ?? nobleEcdsaVerifier;
  if (
    vcek.publicKey.kind !== "p384" ||
    !ecdsa.verify("P-384", vcek.publicKey.point, report.signed, report.signature)
  ) {
    fail("ATTESTATION_SNP_REPORT_SIGNATURE_INVALID", "the report's signature does not verify");
  }
  for (const [k, least] of Object.entries(policy.minimumTcb ?? {})) {
    const have = report.reportedTcb[k as keyof SnpTcb];
    if (least !== undefined && !(have >= least)) {
      fail(
        "ATTESTATION_TCB_STATUS_NOT_ALLOWED",
        `the reported TCB's ${k} SPL is below the policy's`,
        {
          component: k,
          reported: have,
          minimum: least,
        },
      );
    }
  }
  if ((report.policy & POLICY_DEBUG) !== 0n && policy.allowDebug !== true) {
    fail("ATTESTATION_DEBUG_NOT_ALLOWED", "the guest policy allows debugging");
  }
  if (
    policy.allowedMeasurements !== undefined &&
    !policy.allowedMeasurements.includes(report.measurement)
  ) {
    fail("ATTESTATION_MEASUREMENT_NOT_ALLOWED", "MEASUREMENT is not in the allow-list", {
      measurement: report.measurement,
    });
  }
  if (policy.expectedReportData !== undefined && policy.expectedReportData !== report.reportData) {
    fail("ATTESTATION_REPORT_DATA_MISMATCH", "REPORT_DATA is not the expected value");
  }
  return {
    platform: SNP_PLATFORM,
    report,
    rootFingerprint: chain[2].fingerprint,
    vcekFingerprint: vcek.fingerprint,
  };
}
