/**
 * Intel TDX quote verification (v4, v5): the quote signature by the
 * attestation key, the QE report signed by the PCK key and binding the
 * attestation key, the PCK chain to the pinned Intel SGX Root CA, revocation
 * (PCK CRL), and the TCB status from TCB info and QE identity collateral,
 * judged by a policy. Pure (no I/O): the collateral is given, not fetched.
 *
 * @module
 */
import { fail } from "../errors.js";
import { sha256 } from "../hash.js";
import {
  base64ToBytes,
  bytesToHex,
  concatBytes,
  equalBytes,
  type Hex,
  hexToBytes,
} from "../hex.js";
import { type EcdsaVerifier, nobleEcdsaVerifier } from "./ecdsa.js";
import {
  evaluateTdxTcb,
  type PckExtensions,
  readPckExtensions,
  type TcbEvaluation,
  type TcbStatus,
  type TdxCollateral,
} from "./tdx-collateral.js";
import { parseTdxQuote, type TdxQuote } from "./tdx-quote.js";
import {
  isSignedBy,
  type ParsedCertificate,
  parseCertificate,
  parseCrl,
  pemCertificates,
  verifyCertificatePath,
} from "./x509.js";

/**
 * SHA-256 of the DER of the Intel SGX Root CA (CN=Intel SGX Root CA, O=Intel
 * Corporation, valid 2018-05-21 to 2049-12-31), the root of every PCK chain
 * and of the TCB signing chain.
 */
export const INTEL_SGX_ROOT_CA_SHA256 =
  "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";

/** Provider name of TDX evidence. */
export const TDX_PLATFORM = "intel-tdx";

/** What a TDX verification checks beyond the signatures. */
export type TdxPolicy = {
  /** Unix seconds at which certificates and collateral must be valid. */
  now: number;
  /** Accepted roots (SHA-256 of the DER, hex without 0x); default: the Intel SGX Root CA. */
  trustedRootFingerprints?: readonly string[];
  /** Accepted MRTD values (0x-hex, 48 bytes). */
  allowedMrTd?: readonly Hex[];
  /** For each pinned RTMR (0..3), the accepted values. */
  allowedRtmrs?: Partial<Record<"0" | "1" | "2" | "3", readonly Hex[]>>;
  /** TCB statuses that pass (both the platform's and the QE's); default ["UpToDate"]. */
  allowedTcbStatuses?: readonly TcbStatus[];
  /** Accept a TD with the DEBUG attribute (default false). */
  allowDebug?: boolean;
  /** When given, REPORTDATA (64 bytes) must equal it. */
  expectedReportData?: Hex;
  ecdsa?: EcdsaVerifier;
};

/** The result of a passing verification. */
export type VerifiedTdxQuote = {
  platform: typeof TDX_PLATFORM;
  quote: TdxQuote;
  pck: PckExtensions;
  /** "Unknown" for both when no collateral was given (and the policy allowed it). */
  tcb: TcbEvaluation;
  rootFingerprint: string;
};

const TD_ATTRIBUTES_DEBUG = 0x01; // bit 0 of TDATTRIBUTES (byte 0, little-endian)

/**
 * Verifies a TDX quote. Steps, in order (the first failure is the result):
 *
 * 1. layout                                        → ATTESTATION_EVIDENCE_MALFORMED / ATTESTATION_UNSUPPORTED_QUOTE
 * 2. PCK chain (leaf → Platform/Processor CA → pinned root), valid at `now`
 *                                                  → ATTESTATION_ROOT_UNTRUSTED / ATTESTATION_CHAIN_INVALID / ATTESTATION_CERT_EXPIRED
 * 3. PCK CRL (when given): signed by the PCK issuer, current, PCK not revoked
 *                                                  → ATTESTATION_COLLATERAL_INVALID / _EXPIRED / ATTESTATION_CERT_REVOKED
 * 4. QE report signature by the PCK key            → ATTESTATION_TDX_QE_REPORT_SIGNATURE_INVALID
 * 5. QE report data = SHA-256(att. key ‖ QE auth data) ‖ 0³² → ATTESTATION_TDX_QE_BINDING_INVALID
 * 6. quote signature by the attestation key        → ATTESTATION_TDX_QUOTE_SIGNATURE_INVALID
 * 7. collateral (when given): TCB info and QE identity → ATTESTATION_COLLATERAL_*
 * 8. TCB and QE status in the policy's list        → ATTESTATION_TCB_STATUS_NOT_ALLOWED
 * 9. debug attribute                               → ATTESTATION_DEBUG_NOT_ALLOWED
 * 10. MRTD and RTMR allow-lists                    → ATTESTATION_MEASUREMENT_NOT_ALLOWED
 * 11. expected REPORTDATA                          → ATTESTATION_REPORT_DATA_MISMATCH
 *
 * TDX quotes carry no time; freshness comes from a nonce bound in REPORTDATA.
 *
 * @throws ChaosCoreError with the codes above; INVALID_INPUT for a malformed policy.
 */
export function verifyTdxQuote(
  input: Uint8Array | string | TdxQuote,
  policy: TdxPolicy,
  collateral?: TdxCollateral,
): VerifiedTdxQuote {
  if (!Number.isSafeInteger(policy.now) || policy.now < 0)
    fail("INVALID_INPUT", "policy.now must be unix seconds");
  const quote = typeof input === "object" && "signedBytes" in input ? input : parseTdxQuote(input);
  const ecdsa = policy.ecdsa ?? nobleEcdsaVerifier;
  const atMs = policy.now * 1000;
  const trustedRootFingerprints = policy.trustedRootFingerprints ?? [INTEL_SGX_ROOT_CA_SHA256];
  // 2. PCK chain
  const chain = pemCertificates(quote.pckChainPem).map((der) => parseCertificate(der));
  if (chain.length < 2 || chain.length > 4)
    fail("ATTESTATION_CHAIN_INVALID", "the PCK chain is not 2 to 4 certificates");
  verifyCertificatePath(chain, { atMs, trustedRootFingerprints, ecdsa });
  const pckCert = chain[0] as ParsedCertificate;
  if (pckCert.publicKeyCurve !== "P-256")
    fail("ATTESTATION_CHAIN_INVALID", "the PCK key is not P-256");
  const pck = readPckExtensions(pckCert);
  // 3. revocation
  if (collateral?.pckCrl !== undefined) {
    let der: Uint8Array;
    try {
      der = base64ToBytes(collateral.pckCrl);
    } catch {
      return fail("ATTESTATION_EVIDENCE_MALFORMED", "the PCK CRL is not canonical base64");
    }
    const crl = parseCrl(der);
    const issuer = chain[1] as ParsedCertificate;
    if (!equalBytes(crl.issuer, pckCert.issuer) || !isSignedBy(crl, issuer, ecdsa)) {
      fail(
        "ATTESTATION_COLLATERAL_INVALID",
        "the PCK CRL is not signed by the PCK certificate's issuer",
      );
    }
    if (atMs < crl.thisUpdate || (crl.nextUpdate !== undefined && atMs > crl.nextUpdate)) {
      fail("ATTESTATION_COLLATERAL_EXPIRED", "the PCK CRL is not current at the time checked", {
        thisUpdate: new Date(crl.thisUpdate).toISOString(),
      });
    }
    if (crl.revokedSerials.has(pckCert.serialNumber)) {
      fail("ATTESTATION_CERT_REVOKED", "the PCK certificate is revoked", {
        serial: pckCert.serialNumber,
      });
    }
  }
  // 4. QE report signed by the PCK key
  if (!ecdsa.verify("P-256", pckCert.publicKey, quote.qeReport.raw, quote.qeReportSignature)) {
    fail(
      "ATTESTATION_TDX_QE_REPORT_SIGNATURE_INVALID",
      "the QE report signature does not verify under the PCK key",
    );
  }
  // 5. the QE report binds the attestation key and the QE authentication data
  const binding = sha256(concatBytes(quote.attestationKey.subarray(1), quote.qeAuthData));
  const reportData = quote.qeReport.reportData;
  if (
    !equalBytes(reportData.subarray(0, 32), binding) ||
    reportData.subarray(32).some((b) => b !== 0)
  ) {
    fail("ATTESTATION_TDX_QE_BINDING_INVALID", "the QE report does not bind the attestation key");
  }
  // 6. the quote signature
  if (!ecdsa.verify("P-256", quote.attestationKey, quote.signedBytes, quote.signature)) {
    fail(
      "ATTESTATION_TDX_QUOTE_SIGNATURE_INVALID",
      "the quote signature does not verify under the attestation key",
    );
  }
  // 7–8. TCB status
  const tcb: TcbEvaluation =
    collateral === undefined
      ? { tcbStatus: "Unknown", qeStatus: "Unknown" }
      : evaluateTdxTcb(collateral, quote, pck, { atMs, trustedRootFingerprints, ecdsa });
  const allowed = policy.allowedTcbStatuses ?? ["UpToDate"];
  if (!allowed.includes(tcb.tcbStatus) || !allowed.includes(tcb.qeStatus)) {
    fail(
      "ATTESTATION_TCB_STATUS_NOT_ALLOWED",
      `TCB status ${tcb.tcbStatus} (QE ${tcb.qeStatus}) is not allowed`,
      {
        tcbStatus: tcb.tcbStatus,
        qeStatus: tcb.qeStatus,
        allowed,
      },
    );
  }
  // 9. debug
  const tdAttributes = hexToBytes(quote.body.tdAttributes);
  if (((tdAttributes[0] as number) & TD_ATTRIBUTES_DEBUG) !== 0 && policy.allowDebug !== true) {
    fail("ATTESTATION_DEBUG_NOT_ALLOWED", "the TD runs with the DEBUG attribute");
  }
  // 10. measurements
  if (
    policy.allowedMrTd !== undefined &&
    !policy.allowedMrTd.some((m) => m.toLowerCase() === quote.body.mrTd)
  ) {
    fail("ATTESTATION_MEASUREMENT_NOT_ALLOWED", "MRTD is not in the allow-list", {
      mrTd: quote.body.mrTd,
    });
  }
  for (const [index, values] of Object.entries(policy.allowedRtmrs ?? {})) {
    const value = quote.body.rtmrs[Number(index)];
    if (
      values !== undefined &&
      (value === undefined || !values.some((v) => v.toLowerCase() === value))
    ) {
      fail("ATTESTATION_MEASUREMENT_NOT_ALLOWED", `RTMR${index} is not in the allow-list`, {
        rtmr: index,
      });
    }
  }
  // 11. REPORTDATA
  if (policy.expectedReportData !== undefined) {
    let want: Uint8Array;
    try {
      want = hexToBytes(policy.expectedReportData.toLowerCase(), 64);
    } catch {
      return fail("INVALID_INPUT", "policy.expectedReportData is not 64 bytes of hex");
    }
    if (bytesToHex(want) !== quote.body.reportData) {
      fail("ATTESTATION_REPORT_DATA_MISMATCH", "REPORTDATA is not the expected value");
    }
  }
  return {
    platform: TDX_PLATFORM,
    quote,
    pck,
    tcb,
    rootFingerprint: (chain[chain.length - 1] as ParsedCertificate).fingerprint,
  };
}
