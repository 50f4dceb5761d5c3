/**
 * The TDX part of scripts/generate-tee-vectors.ts: cases built from Google's
 * go-tdx-guest test data (a production v4 quote with its TCB info, QE identity
 * and PCK CRL, and a v5 sample quote), written to vectors/attestation/tdx.json.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const flip = (data: Uint8Array, offset: number): Uint8Array => {
  const out = Uint8Array.from(data);
  if (offset < 0 || offset >= out.length) throw new Error(`offset ${offset} out of range`);
  out[offset] = (out[offset] as number) ^ 0x01;
  return out;
};
/** Changes one character of a text at `offset` to another of the same class (so it still parses). */
const flipText = (text: string, offset: number): string => {
  const ch = text[offset] as string;
  const swapped = /[0-9]/.test(ch)
    ? String((Number(ch) + 1) % 10)
    : ch === "A"
      ? "B"
      : ch === "a"
        ? "b"
        : "A";
  return text.slice(0, offset) + swapped + text.slice(offset + 1);
};

// 2023-07-01T01:00:00Z: the currentTime of go-tdx-guest's verify tests (collateral valid 2023-06-18 … 2023-07-08)
const NOW_V4 = Date.UTC(2023, 6, 1, 1) / 1000;
// 2026-02-03T01:00:00Z: the time go-tdx-guest's tests verify the v5 sample at
const NOW_V5 = Date.UTC(2026, 1, 3, 1) / 1000;

export function generateTdxVectors(dir: string) {
  const read = (f: string) => readFileSync(join(dir, "tdx", f));
  const text = (f: string) => read(f).toString("utf8");
  const v4 = new Uint8Array(read("spr-e4-quote-v4.dat"));
  const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
  const collateral = {
    tcbInfo: "tdx/sample_tcbInfo_response",
    tcbInfoIssuerChain: "tdx/tcb_info_issuer_chain.pem",
    qeIdentity: "tdx/sample_qeIdentity_response",
    qeIdentityIssuerChain: "tdx/qe_identity_issuer_chain.pem",
    pckCrl: "tdx/pckcrl",
  };
  const statuses = { allowedTcbStatuses: ["UpToDate", "NotSupported"] };
  const cases: Record<string, unknown>[] = [];
  const push = (c: Record<string, unknown>) => cases.push(c);
  push({
    name: "valid-v4",
    description:
      "the production TDX v4 quote (Sapphire Rapids E4) with its collateral. No TCB level of the TCB info matches the PCK certificate's SGX SVNs (3,3,2,2,2,1,0,2 < 5,5,2,2,3,1,0,3), so the TCB status is NotSupported, which this policy accepts; the QE is UpToDate",
    evidence: "tdx/spr-e4-quote-v4.dat",
    collateral,
    now: NOW_V4,
    policy: statuses,
    expected: {
      ok: true,
      version: 4,
      fmspc: "50806f000000",
      tcbStatus: "NotSupported",
      qeStatus: "UpToDate",
    },
  });
  push({
    name: "tcb-status-default-policy",
    description: "the same with the default policy (UpToDate only)",
    evidence: "tdx/spr-e4-quote-v4.dat",
    collateral,
    now: NOW_V4,
    policy: {},
    expected: { error: "ATTESTATION_TCB_STATUS_NOT_ALLOWED" },
  });
  push({
    name: "valid-v4-no-collateral",
    description:
      "the v4 quote without collateral: everything but the TCB status is verified; the status is Unknown",
    evidence: "tdx/spr-e4-quote-v4.dat",
    now: NOW_V4,
    policy: { allowedTcbStatuses: ["Unknown"] },
    expected: {
      ok: true,
      version: 4,
      fmspc: "50806f000000",
      tcbStatus: "Unknown",
      qeStatus: "Unknown",
    },
  });
  push({
    name: "valid-v5",
    description:
      "go-tdx-guest's v5 sample quote (TDX 1.5 body). Its TCB info (sample_tcbinfo_response_v5) is signed in 2026 by a TCB signing certificate that is not in the source, so it is verified without collateral: TCB status Unknown",
    evidence: "tdx/quote_v5_sample.dat",
    now: NOW_V5,
    policy: { allowedTcbStatuses: ["Unknown"] },
    expected: {
      ok: true,
      version: 5,
      fmspc: "90c06f000000",
      tcbStatus: "Unknown",
      qeStatus: "Unknown",
    },
  });
  const bad = (
    name: string,
    description: string,
    evidence: Uint8Array,
    error: string,
    over: Record<string, unknown> = {},
  ) =>
    push({
      name,
      description,
      evidenceBase64: b64(evidence),
      collateral,
      now: NOW_V4,
      policy: statuses,
      ...over,
      expected: { error },
    });
  const BODY = 48;
  const SIG = 48 + 584 + 4;
  const QE = SIG + 64 + 64 + 6;
  const AUTH = QE + 384 + 64 + 2;
  bad(
    "tampered-signature",
    "one flipped byte in the quote signature",
    flip(v4, SIG + 5),
    "ATTESTATION_TDX_QUOTE_SIGNATURE_INVALID",
  );
  bad(
    "tampered-mrtd",
    "one flipped byte in MRTD",
    flip(v4, BODY + 136),
    "ATTESTATION_TDX_QUOTE_SIGNATURE_INVALID",
  );
  bad(
    "tampered-rtmr0",
    "one flipped byte in RTMR0",
    flip(v4, BODY + 328 + 7),
    "ATTESTATION_TDX_QUOTE_SIGNATURE_INVALID",
  );
  bad(
    "tampered-rtmr3",
    "one flipped byte in RTMR3",
    flip(v4, BODY + 472),
    "ATTESTATION_TDX_QUOTE_SIGNATURE_INVALID",
  );
  bad(
    "tampered-report-data",
    "one flipped byte in REPORTDATA",
    flip(v4, BODY + 520),
    "ATTESTATION_TDX_QUOTE_SIGNATURE_INVALID",
  );
  bad(
    "tampered-header",
    "one flipped byte in the header's user data",
    flip(v4, 30),
    "ATTESTATION_TDX_QUOTE_SIGNATURE_INVALID",
  );
  bad(
    "tampered-attestation-key",
    "one flipped byte in the attestation key",
    flip(v4, SIG + 64 + 3),
    "ATTESTATION_TDX_QE_BINDING_INVALID",
  );
  bad(
    "tampered-qe-auth-data",
    "one flipped byte in the QE authentication data",
    flip(v4, AUTH),
    "ATTESTATION_TDX_QE_BINDING_INVALID",
  );
  bad(
    "tampered-qe-report",
    "one flipped byte in the QE report (MRENCLAVE)",
    flip(v4, QE + 64),
    "ATTESTATION_TDX_QE_REPORT_SIGNATURE_INVALID",
  );
  bad(
    "tampered-qe-report-signature",
    "one flipped byte in the QE report signature",
    flip(v4, QE + 384 + 1),
    "ATTESTATION_TDX_QE_REPORT_SIGNATURE_INVALID",
  );
  const pem = Buffer.from(v4).toString("latin1");
  const leafAt = pem.indexOf("-----BEGIN CERTIFICATE-----") + 28 + 400;
  const rootAt = pem.lastIndexOf("-----BEGIN CERTIFICATE-----") + 28 + 300;
  const flipPem = (at: number) => {
    const out = Uint8Array.from(v4);
    out[at] = (flipText(pem, at).charCodeAt(at) & 0xff) as number;
    return out;
  };
  bad(
    "tampered-pck-certificate",
    "one changed base64 character in the PCK leaf certificate",
    flipPem(leafAt),
    "ATTESTATION_CHAIN_INVALID",
  );
  bad(
    "tampered-root-certificate",
    "one changed base64 character in the root certificate of the PCK chain",
    flipPem(rootAt),
    "ATTESTATION_ROOT_UNTRUSTED",
  );
  bad(
    "untrusted-root-policy",
    "the policy trusts another root only",
    v4,
    "ATTESTATION_ROOT_UNTRUSTED",
    { policy: { ...statuses, trustedRootFingerprints: ["00".repeat(32)] } },
  );
  bad(
    "expired-certificate",
    "verified in 2030: the PCK certificate expired in 2029",
    v4,
    "ATTESTATION_CERT_EXPIRED",
    {
      now: Date.UTC(2030, 0, 1) / 1000,
      collateral: undefined,
      policy: { allowedTcbStatuses: ["Unknown"] },
    },
  );
  const tcb = text("sample_tcbInfo_response");
  bad(
    "tampered-tcb-info",
    "one changed digit in the TCB info body (a tcbDate)",
    v4,
    "ATTESTATION_COLLATERAL_INVALID",
    {
      collateral: {
        ...collateral,
        tcbInfo: undefined,
        tcbInfoText: flipText(tcb, tcb.indexOf('"tcbDate":"') + 14),
      },
    },
  );
  const qe = text("sample_qeIdentity_response");
  bad(
    "tampered-qe-identity",
    "one changed digit in the QE identity body (isvprodid)",
    v4,
    "ATTESTATION_COLLATERAL_INVALID",
    {
      collateral: {
        ...collateral,
        qeIdentity: undefined,
        qeIdentityText: flipText(qe, qe.indexOf('"isvprodid":') + 12),
      },
    },
  );
  bad(
    "tampered-collateral-signature",
    "one changed hex digit in the TCB info signature",
    v4,
    "ATTESTATION_COLLATERAL_INVALID",
    {
      collateral: {
        ...collateral,
        tcbInfo: undefined,
        tcbInfoText: flipText(tcb, tcb.indexOf('"signature":"') + 20),
      },
    },
  );
  bad(
    "collateral-wrong-key",
    "the QE identity with the PCK CRL issuer chain (a genuine Intel chain, the wrong key)",
    v4,
    "ATTESTATION_COLLATERAL_INVALID",
    {
      collateral: { ...collateral, qeIdentityIssuerChain: "tdx/pck_crl_issuer_chain.pem" },
    },
  );
  bad(
    "collateral-other-fmspc",
    "the TCB info of another platform (FMSPC 90c06f000000, the v5 sample's)",
    v4,
    "ATTESTATION_COLLATERAL_MISMATCH",
    {
      collateral: { ...collateral, tcbInfo: "tdx/sample_tcbinfo_response_v5" },
    },
  );
  bad(
    "collateral-expired",
    "verified on 2023-08-01: the PCK CRL (next update 2023-07-08) and TCB info (2023-07-18) are out of date",
    v4,
    "ATTESTATION_COLLATERAL_EXPIRED",
    { now: Date.UTC(2023, 7, 1) / 1000 },
  );
  bad(
    "mrtd-not-allowed",
    "the policy allows another MRTD",
    v4,
    "ATTESTATION_MEASUREMENT_NOT_ALLOWED",
    { policy: { ...statuses, allowedMrTd: [`0x${"00".repeat(48)}`] } },
  );
  bad(
    "rtmr-not-allowed",
    "the policy allows another RTMR2",
    v4,
    "ATTESTATION_MEASUREMENT_NOT_ALLOWED",
    { policy: { ...statuses, allowedRtmrs: { "2": [`0x${"00".repeat(48)}`] } } },
  );
  bad(
    "report-data-mismatch",
    "the policy expects other REPORTDATA",
    v4,
    "ATTESTATION_REPORT_DATA_MISMATCH",
    { policy: { ...statuses, expectedReportData: `0x${"00".repeat(64)}` } },
  );
  bad("truncated", "the first 1000 bytes", v4.subarray(0, 1000), "ATTESTATION_EVIDENCE_MALFORMED");
  bad(
    "trailing-bytes",
    "the file as go-tdx-guest stores it: 39 bytes of text appended after the quote",
    new Uint8Array(read("tdx_prod_quote_SPR_E4.dat")),
    "ATTESTATION_EVIDENCE_MALFORMED",
  );
  const v3 = Uint8Array.from(v4);
  v3[0] = 3;
  bad("unknown-version", "version 3 in the header", v3, "ATTESTATION_UNSUPPORTED_QUOTE");
  const sgx = Uint8Array.from(v4);
  sgx[4] = 0;
  bad("sgx-tee-type", "TEE type 0x00 (SGX) in the header", sgx, "ATTESTATION_UNSUPPORTED_QUOTE");
  // drop collateral members left undefined
  for (const c of cases) {
    const col = c.collateral as Record<string, unknown> | undefined;
    if (col !== undefined)
      for (const k of Object.keys(col)) if (col[k] === undefined) delete col[k];
  }
  return {
    description:
      "Intel TDX quotes (real, from google/go-tdx-guest testing/testdata, Apache-2.0: see README.md) and tampered copies. `evidence` names a file of this folder, `evidenceBase64` is the quote itself. `collateral` names files (tcbInfo, tcbInfoIssuerChain, qeIdentity, qeIdentityIssuerChain: text; pckCrl: DER) or gives a changed text inline (tcbInfoText, qeIdentityText). Verify with `now` (unix seconds) and `policy`.",
    format: "chaoscore.tee-vectors/v1",
    platform: "intel-tdx",
    cases,
  };
}
