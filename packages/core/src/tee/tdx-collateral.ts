/**
 * Intel PCS collateral for TDX: TCB info and QE identity (signed JSON), the
 * PCK certificate's SGX extensions, and the TCB status they give a quote.
 * Written against Intel's "Intel® TDX / SGX PCS API" (v4) and the TCB-level
 * algorithms quoted in google/go-tdx-guest's testing/testdata/README.md.
 *
 * @module
 */
import { ChaosCoreError, fail } from "../errors.js";
import { utf8 } from "../hash.js";
import { hexToBytes } from "../hex.js";
import { children, contentOf, DerError, expectTag, hexOf, readRoot, type Tlv } from "./der.js";
import type { EcdsaVerifier } from "./ecdsa.js";
import type { QeReport, TdReportBody } from "./tdx-quote.js";
import {
  type ParsedCertificate,
  parseCertificate,
  pemCertificates,
  verifyCertificatePath,
} from "./x509.js";

/** TCB statuses Intel defines (TCB info v3), plus `Unknown` when no collateral was given. */
export const TCB_STATUSES = [
  "UpToDate",
  "SWHardeningNeeded",
  "ConfigurationNeeded",
  "ConfigurationAndSWHardeningNeeded",
  "OutOfDate",
  "OutOfDateConfigurationNeeded",
  "Revoked",
  /** No TCB level of the TCB info matches the platform (Intel QVL: TCB level not supported). */
  "NotSupported",
  /** No collateral was given: the TCB status was not evaluated. */
  "Unknown",
] as const;
export type TcbStatus = (typeof TCB_STATUSES)[number];

/** Collateral as Intel PCS (or a PCCS) serves it: bodies verbatim, issuer chains as PEM. */
export type TdxCollateral = {
  /** Body of GET /tdx/certification/v4/tcb?fmspc=… (JSON text, verbatim: it is signed). */
  tcbInfo: string;
  /** Its TCB-Info-Issuer-Chain header (PEM: TCB signing certificate, root). */
  tcbInfoIssuerChain: string;
  /** Body of GET /tdx/certification/v4/qe/identity. */
  qeIdentity: string;
  /** Its SGX-Enclave-Identity-Issuer-Chain header. */
  qeIdentityIssuerChain: string;
  /** The PCK CRL (DER, base64) of the PCK certificate's issuer, when revocation is checked. */
  pckCrl?: string;
};

/** The SGX extension values of a PCK certificate (OID 1.2.840.113741.1.13.1). */
export type PckExtensions = {
  fmspc: string;
  pceId: string;
  /** SGX TCB component SVNs 1..16. */
  sgxTcbComponents: readonly number[];
  pceSvn: number;
};

const SGX_EXTENSIONS_OID = "2a864886f84d010d01";

const smallInt = (bytes: Uint8Array): number => {
  if (bytes.length === 0 || bytes.length > 3 || ((bytes[0] as number) & 0x80) !== 0) {
    throw new DerError("an SVN is not a small non-negative INTEGER");
  }
  return bytes.reduce((n, b) => n * 256 + b, 0);
};

/**
 * Reads FMSPC, PCE-ID and the TCB SVNs from a PCK certificate.
 *
 * @throws ChaosCoreError ATTESTATION_CHAIN_INVALID when the extension is missing or malformed.
 */
export function readPckExtensions(pck: ParsedCertificate): PckExtensions {
  const value = pck.extensions.get(SGX_EXTENSIONS_OID);
  if (value === undefined)
    fail("ATTESTATION_CHAIN_INVALID", "the PCK certificate has no SGX extensions");
  try {
    let fmspc: string | undefined;
    let pceId: string | undefined;
    let pceSvn: number | undefined;
    const comps = new Array<number>(16).fill(-1);
    for (const entry of children(value, expectTag(readRoot(value), 0x30, "SGX extensions"))) {
      const [oidTlv, valueTlv] = children(value, expectTag(entry, 0x30, "SGX extension")) as [
        Tlv,
        Tlv,
      ];
      const oid = hexOf(contentOf(value, expectTag(oidTlv, 0x06, "OID")));
      if (oid === `${SGX_EXTENSIONS_OID}04`)
        fmspc = hexOf(contentOf(value, expectTag(valueTlv, 0x04, "FMSPC")));
      else if (oid === `${SGX_EXTENSIONS_OID}03`)
        pceId = hexOf(contentOf(value, expectTag(valueTlv, 0x04, "PCE-ID")));
      else if (oid === `${SGX_EXTENSIONS_OID}02`) {
        for (const comp of children(value, expectTag(valueTlv, 0x30, "TCB"))) {
          const [cOid, cValue] = children(value, expectTag(comp, 0x30, "TCB component")) as [
            Tlv,
            Tlv,
          ];
          const sub = hexOf(contentOf(value, expectTag(cOid, 0x06, "OID")));
          if (
            !sub.startsWith(`${SGX_EXTENSIONS_OID}02`) ||
            sub.length !== SGX_EXTENSIONS_OID.length + 4
          )
            continue;
          const n = Number.parseInt(sub.slice(-2), 16);
          if (n >= 1 && n <= 16)
            comps[n - 1] = smallInt(contentOf(value, expectTag(cValue, 0x02, "SVN")));
          else if (n === 17) pceSvn = smallInt(contentOf(value, expectTag(cValue, 0x02, "PCESVN")));
        }
      }
    }
    if (fmspc?.length !== 12 || pceId?.length !== 4 || pceSvn === undefined || comps.includes(-1)) {
      throw new DerError("FMSPC, PCE-ID or a TCB SVN is missing");
    }
    return { fmspc, pceId, sgxTcbComponents: comps, pceSvn };
  } catch (cause) {
    if (cause instanceof ChaosCoreError) throw cause;
    return fail("ATTESTATION_CHAIN_INVALID", "the PCK certificate's SGX extensions are malformed", {
      cause: cause instanceof Error ? cause.message : String(cause),
    });
  }
}

/**
 * Splits a PCS response `{"<key>":{…},"signature":"<hex>"}` into the exact
 * signed bytes of the `<key>` member's value and the signature. Intel signs
 * the value's bytes as served, so it is cut out of the text, not re-serialised.
 */
function splitSignedJson(
  text: string,
  key: string,
): { signed: Uint8Array; body: unknown; signature: Uint8Array } {
  const bad = (message: string): never => fail("ATTESTATION_EVIDENCE_MALFORMED", message, { key });
  if (typeof text !== "string" || text.length > 1024 * 1024) bad("the collateral is not JSON text");
  const prefix = `{"${key}":`;
  if (!text.startsWith(prefix)) bad(`the collateral does not start with ${prefix}`);
  // scan the value: an object, with strings skipped
  let depth = 0;
  let i = prefix.length;
  let inString = false;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") {
      depth--;
      if (depth === 0) break;
    }
  }
  const valueText = text.slice(prefix.length, i + 1);
  const rest = text.slice(i + 1);
  const m = rest.match(/^,"signature":"([0-9a-fA-F]{128})"}\s*$/);
  if (m === null || valueText[0] !== "{")
    return bad("the collateral's signature member is missing or malformed");
  let body: unknown;
  try {
    body = JSON.parse(valueText);
  } catch {
    return bad("the collateral is not JSON");
  }
  return {
    signed: utf8(valueText),
    body,
    signature: hexToBytes(`0x${(m[1] as string).toLowerCase()}`),
  };
}

/** Checks a signed collateral document and returns its body. */
function verifySignedCollateral(
  text: string,
  issuerChainPem: string,
  key: "tcbInfo" | "enclaveIdentity",
  options: { atMs: number; trustedRootFingerprints: readonly string[]; ecdsa: EcdsaVerifier },
): Record<string, unknown> {
  const { signed, body, signature } = splitSignedJson(text, key);
  const chain = pemCertificates(issuerChainPem, "ATTESTATION_COLLATERAL_INVALID").map((der) =>
    parseCertificate(der, "ATTESTATION_COLLATERAL_INVALID"),
  );
  try {
    verifyCertificatePath(chain, options);
  } catch (e) {
    if (e instanceof ChaosCoreError && e.code === "ATTESTATION_CHAIN_INVALID") {
      fail("ATTESTATION_COLLATERAL_INVALID", `the ${key} issuer chain is invalid: ${e.message}`);
    }
    throw e;
  }
  const signer = chain[0] as ParsedCertificate;
  if (
    signer.publicKeyCurve !== "P-256" ||
    !options.ecdsa.verify("P-256", signer.publicKey, signed, signature)
  ) {
    fail(
      "ATTESTATION_COLLATERAL_INVALID",
      `the ${key} signature does not verify under its issuer chain`,
    );
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    fail("ATTESTATION_EVIDENCE_MALFORMED", `${key} is not an object`);
  }
  return body as Record<string, unknown>;
}

function checkWindow(body: Record<string, unknown>, atMs: number, what: string): void {
  const issue = Date.parse(String(body.issueDate));
  const next = Date.parse(String(body.nextUpdate));
  if (Number.isNaN(issue) || Number.isNaN(next))
    fail("ATTESTATION_EVIDENCE_MALFORMED", `${what} has no valid dates`);
  if (atMs < issue || atMs > next) {
    fail("ATTESTATION_COLLATERAL_EXPIRED", `${what} is not valid at the time checked`, {
      issueDate: body.issueDate,
      nextUpdate: body.nextUpdate,
      at: new Date(atMs).toISOString(),
    });
  }
}

const svnList = (value: unknown, what: string): number[] => {
  if (!Array.isArray(value) || value.length !== 16)
    fail("ATTESTATION_EVIDENCE_MALFORMED", `${what} is not 16 components`);
  return value.map((c) => {
    const svn = (c as { svn?: unknown })?.svn;
    if (!Number.isInteger(svn))
      fail("ATTESTATION_EVIDENCE_MALFORMED", `${what} has a non-integer SVN`);
    return svn as number;
  });
};

const maskedEqual = (value: Uint8Array, mask: Uint8Array, expected: Uint8Array): boolean =>
  value.length === mask.length &&
  mask.length === expected.length &&
  value.every((v, i) => (v & (mask[i] as number)) === expected[i]);

const hexField = (body: Record<string, unknown>, name: string, bytes: number): Uint8Array => {
  const v = body[name];
  if (typeof v !== "string" || !/^[0-9a-fA-F]*$/.test(v) || v.length !== 2 * bytes) {
    fail("ATTESTATION_EVIDENCE_MALFORMED", `${name} is not ${bytes} bytes of hex`);
  }
  return hexToBytes(`0x${v.toLowerCase()}`);
};

function levelStatus(
  level: Record<string, unknown>,
): Pick<TcbEvaluation, "tcbStatus" | "tcbDate" | "advisoryIds"> {
  const status = String(level.tcbStatus);
  if (
    !(TCB_STATUSES as readonly string[]).includes(status) ||
    status === "Unknown" ||
    status === "NotSupported"
  ) {
    fail("ATTESTATION_EVIDENCE_MALFORMED", `unknown TCB status ${status}`);
  }
  return {
    tcbStatus: status as TcbStatus,
    ...(typeof level.tcbDate === "string" ? { tcbDate: level.tcbDate } : {}),
    ...(Array.isArray(level.advisoryIDs) ? { advisoryIds: level.advisoryIDs.map(String) } : {}),
  };
}

/** The outcome of the collateral checks. */
export type TcbEvaluation = {
  tcbStatus: TcbStatus;
  qeStatus: TcbStatus;
  tcbDate?: string;
  advisoryIds?: string[];
};

/**
 * Verifies TCB info and QE identity (signatures, issuer chains, validity at
 * `atMs`, that they are for this platform and QE) and evaluates the quote's
 * TCB level and the QE's.
 *
 * @throws ChaosCoreError ATTESTATION_COLLATERAL_INVALID, ATTESTATION_COLLATERAL_EXPIRED,
 *   ATTESTATION_COLLATERAL_MISMATCH, ATTESTATION_CERT_EXPIRED, ATTESTATION_ROOT_UNTRUSTED,
 *   ATTESTATION_EVIDENCE_MALFORMED.
 */
export function evaluateTdxTcb(
  collateral: TdxCollateral,
  quote: { body: TdReportBody; qeReport: QeReport },
  pck: PckExtensions,
  options: { atMs: number; trustedRootFingerprints: readonly string[]; ecdsa: EcdsaVerifier },
): TcbEvaluation {
  const tcbBody = verifySignedCollateral(
    collateral.tcbInfo,
    collateral.tcbInfoIssuerChain,
    "tcbInfo",
    options,
  );
  const qeBody = verifySignedCollateral(
    collateral.qeIdentity,
    collateral.qeIdentityIssuerChain,
    "enclaveIdentity",
    options,
  );
  // TCB info for this platform
  if (tcbBody.id !== "TDX" || tcbBody.version !== 3) {
    fail("ATTESTATION_COLLATERAL_MISMATCH", "the TCB info is not TDX TCB info version 3", {
      id: tcbBody.id,
    });
  }
  if (
    String(tcbBody.fmspc).toLowerCase() !== pck.fmspc ||
    String(tcbBody.pceId).toLowerCase() !== pck.pceId
  ) {
    fail("ATTESTATION_COLLATERAL_MISMATCH", "the TCB info is for another FMSPC or PCE id", {
      tcbInfoFmspc: tcbBody.fmspc,
      pckFmspc: pck.fmspc,
    });
  }
  if (qeBody.id !== "TD_QE") {
    fail("ATTESTATION_COLLATERAL_MISMATCH", "the QE identity is not TD_QE", { id: qeBody.id });
  }
  checkWindow(tcbBody, options.atMs, "TCB info");
  checkWindow(qeBody, options.atMs, "QE identity");
  // the TDX module's identity (MRSIGNERSEAM and SEAM attributes)
  const module = tcbBody.tdxModule as Record<string, unknown> | undefined;
  if (module !== undefined) {
    const mrsigner = hexField(module, "mrsigner", 48);
    const attributes = hexField(module, "attributes", 8);
    const mask = hexField(module, "attributesMask", 8);
    const seamAttributes = hexToBytes(quote.body.seamAttributes);
    if (
      hexOf(mrsigner) !== quote.body.mrSignerSeam.slice(2) ||
      !maskedEqual(seamAttributes, mask, attributes)
    ) {
      fail(
        "ATTESTATION_COLLATERAL_MISMATCH",
        "the TD's MRSIGNERSEAM or SEAM attributes are not the TCB info's TDX module",
      );
    }
  }
  // TCB level: the first level whose SGX components, PCESVN and TDX components the platform meets
  const teeTcbSvn = hexToBytes(quote.body.teeTcbSvn);
  const levels = tcbBody.tcbLevels;
  if (!Array.isArray(levels) || levels.length === 0)
    fail("ATTESTATION_EVIDENCE_MALFORMED", "TCB info has no TCB levels");
  let evaluation: Pick<TcbEvaluation, "tcbStatus" | "tcbDate" | "advisoryIds"> = {
    tcbStatus: "NotSupported",
  };
  for (const level of levels as Record<string, unknown>[]) {
    const tcb = level?.tcb as Record<string, unknown> | undefined;
    if (tcb === undefined) fail("ATTESTATION_EVIDENCE_MALFORMED", "a TCB level has no tcb");
    const sgx = svnList(tcb.sgxtcbcomponents, "sgxtcbcomponents");
    const tdx = svnList(tcb.tdxtcbcomponents, "tdxtcbcomponents");
    if (!Number.isInteger(tcb.pcesvn))
      fail("ATTESTATION_EVIDENCE_MALFORMED", "a TCB level has no pcesvn");
    if (
      sgx.every((svn, i) => (pck.sgxTcbComponents[i] as number) >= svn) &&
      pck.pceSvn >= (tcb.pcesvn as number) &&
      tdx.every((svn, i) => (teeTcbSvn[i] as number) >= svn)
    ) {
      evaluation = levelStatus(level);
      break;
    }
  }
  // TDX module 1.x (TEE_TCB_SVN[1] > 0): the module's own identity and TCB levels decide
  // (the first level whose isvsvn ≤ TEE_TCB_SVN[0] of the identity "TDX_<major, 2 hex digits>")
  const major = teeTcbSvn[1] as number;
  if (evaluation.tcbStatus !== "NotSupported" && major > 0) {
    const id = `TDX_${major.toString(16).padStart(2, "0").toUpperCase()}`;
    const identities = Array.isArray(tcbBody.tdxModuleIdentities)
      ? (tcbBody.tdxModuleIdentities as Record<string, unknown>[])
      : [];
    const identity = identities.find((m) => m?.id === id);
    const moduleLevels = Array.isArray(identity?.tcbLevels)
      ? (identity.tcbLevels as Record<string, unknown>[])
      : [];
    const match = moduleLevels.find((l) => {
      const isvsvn = (l?.tcb as Record<string, unknown> | undefined)?.isvsvn;
      return Number.isInteger(isvsvn) && (teeTcbSvn[0] as number) >= (isvsvn as number);
    });
    evaluation = match === undefined ? { tcbStatus: "NotSupported" } : levelStatus(match);
  }
  // QE identity: the QE report must be Intel's TD QE, then its ISVSVN gives its status
  const report = quote.qeReport;
  const miscBytes = Uint8Array.of(
    report.miscSelect >>> 24,
    (report.miscSelect >>> 16) & 255,
    (report.miscSelect >>> 8) & 255,
    report.miscSelect & 255,
  );
  if (
    hexOf(hexField(qeBody, "mrsigner", 32)) !== report.mrSigner.slice(2) ||
    qeBody.isvprodid !== report.isvProdId ||
    !maskedEqual(
      miscBytes,
      hexField(qeBody, "miscselectMask", 4),
      hexField(qeBody, "miscselect", 4),
    ) ||
    !maskedEqual(
      hexToBytes(report.attributes),
      hexField(qeBody, "attributesMask", 16),
      hexField(qeBody, "attributes", 16),
    )
  ) {
    fail("ATTESTATION_COLLATERAL_MISMATCH", "the QE report does not match Intel's QE identity");
  }
  let qeStatus: TcbStatus = "NotSupported";
  const qeLevels = Array.isArray(qeBody.tcbLevels)
    ? (qeBody.tcbLevels as Record<string, unknown>[])
    : [];
  for (const level of qeLevels) {
    const isvsvn = (level?.tcb as Record<string, unknown> | undefined)?.isvsvn;
    if (Number.isInteger(isvsvn) && report.isvSvn >= (isvsvn as number)) {
      qeStatus = levelStatus(level).tcbStatus;
      break;
    }
  }
  return { ...evaluation, qeStatus };
}
