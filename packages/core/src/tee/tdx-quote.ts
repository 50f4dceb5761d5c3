/**
 * Intel TDX quotes, versions 4 and 5: the byte layout, parsed without
 * interpretation. Written against Intel's "TDX DCAP Quoting Library API"
 * (Appendix A: quote format v4 and v5) and cross-checked with
 * google/go-tdx-guest's abi package. All integers are little-endian.
 *
 * ```
 * v4: header(48) ‖ TD report body(584)                 ‖ u32 sigLen ‖ signature data
 * v5: header(48) ‖ u16 bodyType ‖ u32 bodySize ‖ body  ‖ u32 sigLen ‖ signature data
 *     bodyType 2: TDX 1.0 body (584), 3: TDX 1.5 body (648)
 * signature data: ECDSA sig(64) ‖ attestation key(64) ‖ u16 certType=6 ‖ u32 size ‖
 *     QE report(384) ‖ QE report sig(64) ‖ u16 authLen ‖ QE auth data ‖ u16 certType=5 ‖ u32 size ‖ PEM chain
 * ```
 *
 * @module
 */
import { fail } from "../errors.js";
import { base64ToBytes, bytesToHex, type Hex } from "../hex.js";

export const TDX_TEE_TYPE = 0x81;
export const ATT_KEY_TYPE_ECDSA_P256 = 2;
export const CERT_TYPE_QE_REPORT = 6;
export const CERT_TYPE_PCK_CHAIN = 5;
/** Intel's QE vendor id (939a7233-f79c-4ca9-940a-0db3957f0607). */
export const INTEL_QE_VENDOR_ID = "0x939a7233f79c4ca9940a0db3957f0607";

const BODY_V4 = 584;
const BODY_V15 = 648;
const QE_REPORT = 384;

/** The TD report body (TDX 1.0 fields; TDX 1.5 adds two). Byte strings are 0x-hex. */
export type TdReportBody = {
  teeTcbSvn: Hex;
  mrSeam: Hex;
  mrSignerSeam: Hex;
  seamAttributes: Hex;
  tdAttributes: Hex;
  xfam: Hex;
  mrTd: Hex;
  mrConfigId: Hex;
  mrOwner: Hex;
  mrOwnerConfig: Hex;
  rtmrs: readonly [Hex, Hex, Hex, Hex];
  reportData: Hex;
  /** TDX 1.5 only (v5 body type 3). */
  teeTcbSvn2?: Hex;
  mrServiceTd?: Hex;
};

/** The Quoting Enclave's SGX report body (384 bytes). */
export type QeReport = {
  raw: Uint8Array;
  cpuSvn: Hex;
  miscSelect: number;
  attributes: Hex;
  mrEnclave: Hex;
  mrSigner: Hex;
  isvProdId: number;
  isvSvn: number;
  reportData: Uint8Array;
};

/** A parsed quote. */
export type TdxQuote = {
  version: 4 | 5;
  /** 2 (TDX 1.0 body) or 3 (TDX 1.5 body); 2 for v4. */
  bodyType: 2 | 3;
  attestationKeyType: number;
  teeType: number;
  qeVendorId: Hex;
  headerUserData: Hex;
  body: TdReportBody;
  /** The bytes the attestation key signs (header, and for v5 the body descriptor, and body). */
  signedBytes: Uint8Array;
  /** r ‖ s. */
  signature: Uint8Array;
  /** 0x04 ‖ X ‖ Y (the quote stores X ‖ Y). */
  attestationKey: Uint8Array;
  qeReport: QeReport;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** The PCK chain as the quote carries it (PEM text: leaf, intermediate, root). */
  pckChainPem: string;
};

const malformed = (message: string): never => fail("ATTESTATION_EVIDENCE_MALFORMED", message);

/** A bounds-checked little-endian reader. */
class Reader {
  at = 0;
  constructor(readonly data: Uint8Array) {}
  bytes(n: number, what: string): Uint8Array {
    if (this.at + n > this.data.length) malformed(`the quote is truncated (${what})`);
    const out = this.data.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u16(what: string): number {
    const b = this.bytes(2, what);
    return (b[0] as number) | ((b[1] as number) << 8);
  }
  u32(what: string): number {
    const b = this.bytes(4, what);
    return (
      ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16)) +
      (b[3] as number) * 2 ** 24
    );
  }
}

const hex = bytesToHex;

function parseBody(data: Uint8Array, tdx15: boolean): TdReportBody {
  const at = (o: number, n: number) => hex(data.subarray(o, o + n));
  const body: TdReportBody = {
    teeTcbSvn: at(0, 16),
    mrSeam: at(16, 48),
    mrSignerSeam: at(64, 48),
    seamAttributes: at(112, 8),
    tdAttributes: at(120, 8),
    xfam: at(128, 8),
    mrTd: at(136, 48),
    mrConfigId: at(184, 48),
    mrOwner: at(232, 48),
    mrOwnerConfig: at(280, 48),
    rtmrs: [at(328, 48), at(376, 48), at(424, 48), at(472, 48)],
    reportData: at(520, 64),
  };
  return tdx15 ? { ...body, teeTcbSvn2: at(584, 16), mrServiceTd: at(600, 48) } : body;
}

/** Parses the 384-byte SGX report body of the Quoting Enclave. */
export function parseQeReport(raw: Uint8Array): QeReport {
  const u16 = (o: number) => (raw[o] as number) | ((raw[o + 1] as number) << 8);
  return {
    raw,
    cpuSvn: hex(raw.subarray(0, 16)),
    miscSelect:
      ((raw[16] as number) | ((raw[17] as number) << 8) | ((raw[18] as number) << 16)) +
      (raw[19] as number) * 2 ** 24,
    attributes: hex(raw.subarray(48, 64)),
    mrEnclave: hex(raw.subarray(64, 96)),
    mrSigner: hex(raw.subarray(128, 160)),
    isvProdId: u16(256),
    isvSvn: u16(258),
    reportData: raw.subarray(320, 384),
  };
}

/**
 * Parses a TDX quote (raw bytes or base64), checking its layout only.
 *
 * @throws ChaosCoreError ATTESTATION_EVIDENCE_MALFORMED (truncated, trailing
 *   bytes, lengths that disagree, a PCK chain that is not PEM text),
 *   ATTESTATION_UNSUPPORTED_QUOTE (version, TEE type, key type, body type or
 *   certification data type not the ones above).
 */
export function parseTdxQuote(input: Uint8Array | string): TdxQuote {
  let data: Uint8Array;
  if (typeof input === "string") {
    try {
      data = base64ToBytes(input);
    } catch {
      return malformed("the quote is not canonical base64");
    }
  } else if (input instanceof Uint8Array) data = input;
  else return malformed("the quote is not bytes or base64");
  if (data.length > 64 * 1024) return malformed("the quote is larger than 64 KiB");
  const r = new Reader(data);
  const version = r.u16("version");
  const attestationKeyType = r.u16("attestation key type");
  const teeType = r.u32("TEE type");
  r.bytes(4, "reserved");
  const qeVendorId = hex(r.bytes(16, "QE vendor id"));
  const headerUserData = hex(r.bytes(20, "user data"));
  if (version !== 4 && version !== 5) {
    fail("ATTESTATION_UNSUPPORTED_QUOTE", `quote version ${version} is not 4 or 5`, { version });
  }
  if (teeType !== TDX_TEE_TYPE) {
    fail("ATTESTATION_UNSUPPORTED_QUOTE", `TEE type 0x${teeType.toString(16)} is not TDX (0x81)`, {
      teeType,
    });
  }
  if (attestationKeyType !== ATT_KEY_TYPE_ECDSA_P256) {
    fail("ATTESTATION_UNSUPPORTED_QUOTE", "the attestation key type is not ECDSA P-256 (2)", {
      attestationKeyType,
    });
  }
  let bodyType: 2 | 3 = 2;
  if (version === 5) {
    const type = r.u16("body type");
    const size = r.u32("body size");
    if (type === 2 && size === BODY_V4) bodyType = 2;
    else if (type === 3 && size === BODY_V15) bodyType = 3;
    else
      fail(
        "ATTESTATION_UNSUPPORTED_QUOTE",
        `v5 body type ${type} of ${size} bytes is not TDX 1.0 or 1.5`,
        { type, size },
      );
  }
  const body = parseBody(
    r.bytes(bodyType === 3 ? BODY_V15 : BODY_V4, "TD report body"),
    bodyType === 3,
  );
  const signedBytes = data.subarray(0, r.at);
  const sigLength = r.u32("signature data length");
  if (r.at + sigLength !== data.length)
    malformed("the signature data length disagrees with the quote's size");
  const signature = r.bytes(64, "quote signature");
  const attestationKey = new Uint8Array(65);
  attestationKey[0] = 0x04;
  attestationKey.set(r.bytes(64, "attestation key"), 1);
  const certType = r.u16("certification data type");
  const certSize = r.u32("certification data size");
  if (certType !== CERT_TYPE_QE_REPORT) {
    fail(
      "ATTESTATION_UNSUPPORTED_QUOTE",
      `certification data type ${certType} is not 6 (QE report)`,
      { certType },
    );
  }
  if (r.at + certSize !== data.length)
    malformed("the certification data size disagrees with the quote's size");
  const qeReportRaw = r.bytes(QE_REPORT, "QE report");
  const qeReportSignature = r.bytes(64, "QE report signature");
  const qeAuthData = r.bytes(r.u16("QE auth data size"), "QE auth data");
  const innerType = r.u16("PCK certification data type");
  const innerSize = r.u32("PCK certification data size");
  if (innerType !== CERT_TYPE_PCK_CHAIN) {
    fail(
      "ATTESTATION_UNSUPPORTED_QUOTE",
      `inner certification data type ${innerType} is not 5 (PCK chain)`,
      {
        certType: innerType,
      },
    );
  }
  if (r.at + innerSize !== data.length)
    malformed("the PCK chain size disagrees with the quote's size");
  const chainBytes = r.bytes(innerSize, "PCK chain");
  // PEM text, possibly NUL-terminated
  let end = chainBytes.length;
  while (end > 0 && chainBytes[end - 1] === 0) end--;
  let pckChainPem: string;
  try {
    pckChainPem = new TextDecoder("ascii", { fatal: true }).decode(chainBytes.subarray(0, end));
  } catch {
    return malformed("the PCK chain is not text");
  }
  if (!/^[\x20-\x7e\r\n]*$/.test(pckChainPem)) malformed("the PCK chain is not PEM text");
  return {
    version,
    bodyType,
    attestationKeyType,
    teeType,
    qeVendorId,
    headerUserData,
    body,
    signedBytes,
    signature,
    attestationKey,
    qeReport: parseQeReport(qeReportRaw),
    qeReportSignature,
    qeAuthData,
    pckChainPem,
  };
}
