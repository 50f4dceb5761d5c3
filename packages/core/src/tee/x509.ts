/**
 * The X.509 subset real TEE evidence needs: ECDSA certificates (P-256 and
 * P-384) and CRLs, read with a strict DER walker ({@link readTlv}) and checked
 * here: signatures through an {@link EcdsaVerifier}, validity at a given time,
 * CA constraints, revocation, and a path from a leaf through intermediates to
 * a root pinned by its SHA-256 fingerprint.
 *
 * Why our own reader and not a library: node:crypto's X509Certificate does not
 * run in the browser explorer (core is bundled for it); @peculiar/x509 and
 * pkijs verify through WebCrypto, which is asynchronous while the receipt
 * verifier is synchronous; and @peculiar/asn1-x509 (synchronous) parsed ~2,000
 * certificates/s here, too slow for five per Nitro document at the ≥ 500
 * documents/s goal. The reader extracts only the fields below; the tests
 * compare it with node:crypto's X509Certificate on every vector certificate.
 *
 * @module
 */
import { ChaosCoreError, type ErrorCode, fail } from "../errors.js";
import { sha256 } from "../hash.js";
import { base64ToBytes } from "../hex.js";
import {
  bitStringBytes,
  children,
  contentOf,
  DerError,
  encodingOf,
  expectTag,
  hexOf,
  readRoot,
  readTime,
  type Tlv,
} from "./der.js";
import { CURVE_BYTES, derSignatureToRaw, type EcdsaCurve, type EcdsaVerifier } from "./ecdsa.js";

const OID_EC_PUBLIC_KEY = "2a8648ce3d0201";
const CURVE_OIDS: Record<string, EcdsaCurve> = {
  "2a8648ce3d030107": "P-256",
  "2b81040022": "P-384",
};
/** ecdsa-with-SHA256 and ecdsa-with-SHA384 (content hex): the hash matches the issuer's curve. */
const SIGNATURE_OIDS: Record<string, EcdsaCurve> = {
  "2a8648ce3d040302": "P-256",
  "2a8648ce3d040303": "P-384",
};
/** Extension OIDs (content hex). */
const OID_BASIC_CONSTRAINTS = "551d13";
const OID_KEY_USAGE = "551d0f";

/** A parsed certificate: what the chain checks and the TEE verifiers read. */
export type ParsedCertificate = {
  der: Uint8Array;
  /** SHA-256 of the DER, lowercase hex without 0x. */
  fingerprint: string;
  tbs: Uint8Array;
  /** The curve implied by the signature algorithm (the issuer key's curve). */
  signatureCurve: EcdsaCurve;
  /** r ‖ s, fixed width for `signatureCurve`. */
  signature: Uint8Array;
  publicKeyCurve: EcdsaCurve;
  /** Uncompressed SEC1 point. */
  publicKey: Uint8Array;
  notBefore: number;
  notAfter: number;
  /** DER of the subject and issuer Names (compared bytewise, as DER is unique). */
  subject: Uint8Array;
  issuer: Uint8Array;
  isCa: boolean;
  pathLength: number | undefined;
  /** Key usage includes keyCertSign (or the extension is absent). */
  canSignCertificates: boolean;
  /** Extension OID (content hex) → extnValue bytes. */
  extensions: ReadonlyMap<string, Uint8Array>;
  /** Serial number, lowercase hex of the INTEGER's content bytes. */
  serialNumber: string;
};

/** The signature algorithm of an AlgorithmIdentifier (no parameters allowed for ECDSA). */
function signatureAlgorithm(data: Uint8Array, tlv: Tlv): EcdsaCurve | undefined {
  const parts = children(data, expectTag(tlv, 0x30, "AlgorithmIdentifier"));
  if (parts.length !== 1) return undefined;
  return SIGNATURE_OIDS[hexOf(contentOf(data, expectTag(parts[0], 0x06, "OID")))];
}

/**
 * Parses a DER certificate. Only ECDSA P-256/P-384 keys and signatures are
 * accepted (every TEE vendor chain uses them).
 *
 * @throws ChaosCoreError `code` (default ATTESTATION_CHAIN_INVALID) when the DER
 *   is not a certificate of that kind.
 */
export function parseCertificate(
  der: Uint8Array,
  code: ErrorCode = "ATTESTATION_CHAIN_INVALID",
): ParsedCertificate {
  try {
    const top = children(der, expectTag(readRoot(der), 0x30, "Certificate"));
    if (top.length !== 3) throw new DerError("a Certificate has three parts");
    const [tbsTlv, algTlv, sigTlv] = top as [Tlv, Tlv, Tlv];
    const signatureCurve = signatureAlgorithm(der, algTlv);
    if (signatureCurve === undefined) {
      return fail(code, "a certificate is not signed with ECDSA SHA-256/SHA-384");
    }
    const signature = derSignatureToRaw(bitStringBytes(der, sigTlv), signatureCurve);
    if (signature === null) return fail(code, "a certificate's signature is not DER ECDSA");
    const tbs = children(der, expectTag(tbsTlv, 0x30, "TBSCertificate"));
    let i = 0;
    if (tbs[0]?.tag === 0xa0) {
      const version = children(der, tbs[0]);
      const v =
        version[0] === undefined
          ? undefined
          : contentOf(der, expectTag(version[0], 0x02, "version"));
      if (version.length !== 1 || v?.length !== 1 || v[0] !== 2) throw new DerError("not X.509 v3");
      i++;
    }
    const serial = contentOf(der, expectTag(tbs[i++], 0x02, "serialNumber"));
    const innerAlg = tbs[i++];
    if (
      innerAlg === undefined ||
      hexOf(encodingOf(der, innerAlg)) !== hexOf(encodingOf(der, algTlv))
    ) {
      throw new DerError("the inner and outer signature algorithms differ");
    }
    const issuer = encodingOf(der, expectTag(tbs[i++], 0x30, "issuer"));
    const validity = children(der, expectTag(tbs[i++], 0x30, "validity"));
    if (validity.length !== 2) throw new DerError("validity has two times");
    const notBefore = readTime(der, validity[0] as Tlv);
    const notAfter = readTime(der, validity[1] as Tlv);
    const subject = encodingOf(der, expectTag(tbs[i++], 0x30, "subject"));
    const spki = children(der, expectTag(tbs[i++], 0x30, "SubjectPublicKeyInfo"));
    if (spki.length !== 2) throw new DerError("SubjectPublicKeyInfo has two parts");
    const keyAlg = children(der, expectTag(spki[0], 0x30, "AlgorithmIdentifier"));
    const publicKeyCurve =
      keyAlg.length === 2 &&
      hexOf(contentOf(der, expectTag(keyAlg[0], 0x06, "OID"))) === OID_EC_PUBLIC_KEY
        ? CURVE_OIDS[hexOf(contentOf(der, expectTag(keyAlg[1], 0x06, "curve OID")))]
        : undefined;
    if (publicKeyCurve === undefined) return fail(code, "a certificate's key is not P-256/P-384");
    const publicKey = bitStringBytes(der, spki[1] as Tlv);
    if (publicKey.length !== 1 + 2 * CURVE_BYTES[publicKeyCurve] || publicKey[0] !== 0x04) {
      return fail(code, "a certificate's key is not an uncompressed point");
    }
    while (tbs[i]?.tag === 0x81 || tbs[i]?.tag === 0x82) i++; // unique identifiers
    const extensions = new Map<string, Uint8Array>();
    let isCa = false;
    let pathLength: number | undefined;
    let canSignCertificates = true;
    if (tbs[i]?.tag === 0xa3) {
      const wrapped = children(der, tbs[i++] as Tlv);
      if (wrapped.length !== 1) throw new DerError("extensions are one SEQUENCE");
      for (const ext of children(der, expectTag(wrapped[0], 0x30, "Extensions"))) {
        const parts = children(der, expectTag(ext, 0x30, "Extension"));
        const oid = hexOf(contentOf(der, expectTag(parts[0], 0x06, "extnID")));
        const valueTlv = expectTag(parts[parts.length - 1], 0x04, "extnValue");
        if (parts.length === 3) expectTag(parts[1], 0x01, "critical");
        else if (parts.length !== 2) throw new DerError("an Extension has two or three parts");
        if (extensions.has(oid)) return fail(code, "a certificate repeats an extension");
        const value = contentOf(der, valueTlv);
        extensions.set(oid, value);
        if (oid === OID_BASIC_CONSTRAINTS) {
          const bc = children(value, expectTag(readRoot(value), 0x30, "BasicConstraints"));
          let k = 0;
          if (bc[k]?.tag === 0x01) isCa = value[(bc[k++] as Tlv).valueStart] === 0xff;
          if (bc[k]?.tag === 0x02) {
            const n = contentOf(value, bc[k++] as Tlv);
            if (n.length !== 1 || (n[0] ?? 0) > 0x7f) throw new DerError("pathLenConstraint");
            pathLength = n[0];
          }
          if (k !== bc.length) throw new DerError("BasicConstraints has extra parts");
        } else if (oid === OID_KEY_USAGE) {
          const bits = bitStringBytes(value, readRoot(value), { allowUnusedBits: true });
          canSignCertificates = ((bits[0] ?? 0) & 0x04) !== 0;
        }
      }
    }
    if (i !== tbs.length) throw new DerError("the TBSCertificate has extra parts");
    return {
      der,
      fingerprint: hexOf(sha256(der)),
      tbs: encodingOf(der, tbsTlv),
      signatureCurve,
      signature,
      publicKeyCurve,
      publicKey,
      notBefore,
      notAfter,
      subject,
      issuer,
      isCa,
      pathLength,
      canSignCertificates,
      extensions,
      serialNumber: hexOf(serial),
    };
  } catch (cause) {
    if (cause instanceof ChaosCoreError) throw cause;
    return fail(code, "a certificate is not valid DER X.509", {
      cause: cause instanceof Error ? cause.message : String(cause),
    });
  }
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/** True when `child`'s signature verifies under `issuer`'s key (curves must match). */
export function isSignedBy(
  child: { tbs: Uint8Array; signature: Uint8Array; signatureCurve: EcdsaCurve },
  issuer: ParsedCertificate,
  ecdsa: EcdsaVerifier,
): boolean {
  return (
    child.signatureCurve === issuer.publicKeyCurve &&
    ecdsa.verify(issuer.publicKeyCurve, issuer.publicKey, child.tbs, child.signature)
  );
}

/** Options of {@link verifyCertificatePath}. */
export type CertificatePathOptions = {
  /** Milliseconds since the epoch at which every certificate must be valid. */
  atMs: number;
  /** SHA-256 fingerprints (lowercase hex, no 0x) of the accepted roots. */
  trustedRootFingerprints: readonly string[];
  ecdsa: EcdsaVerifier;
};

/**
 * Checks `path` = [leaf, intermediate…, root]: each certificate is issued
 * (name and signature) by the next, every issuer is a CA allowed to sign
 * certificates within its path length, every certificate is valid at `atMs`,
 * and the last has a pinned fingerprint.
 *
 * @throws ChaosCoreError ATTESTATION_ROOT_UNTRUSTED (the path ends at another
 *   root), ATTESTATION_CERT_EXPIRED (a certificate is not valid at `atMs`),
 *   ATTESTATION_CHAIN_INVALID (names, signatures or constraints do not hold).
 */
export function verifyCertificatePath(
  path: readonly ParsedCertificate[],
  options: CertificatePathOptions,
): void {
  const root = path[path.length - 1];
  if (root === undefined) fail("ATTESTATION_CHAIN_INVALID", "the certificate path is empty");
  if (!options.trustedRootFingerprints.includes(root.fingerprint)) {
    fail("ATTESTATION_ROOT_UNTRUSTED", "the certificate path does not end at a pinned root", {
      rootFingerprint: root.fingerprint,
    });
  }
  // The root is trusted by its pinned fingerprint (a trust anchor, RFC 5280 §6.1): its
  // self-signature adds nothing and is not checked; its validity period is.
  for (let i = 0; i < path.length; i++) {
    const cert = path[i] as ParsedCertificate;
    if (options.atMs < cert.notBefore || options.atMs > cert.notAfter) {
      fail("ATTESTATION_CERT_EXPIRED", `certificate ${i} is not valid at the time checked`, {
        index: i,
        notBefore: new Date(cert.notBefore).toISOString(),
        notAfter: new Date(cert.notAfter).toISOString(),
        at: new Date(options.atMs).toISOString(),
      });
    }
    const issuer = path[i + 1];
    if (issuer === undefined) continue;
    if (!equalBytes(cert.issuer, issuer.subject)) {
      fail("ATTESTATION_CHAIN_INVALID", `certificate ${i} is not issued by certificate ${i + 1}`);
    }
    if (!issuer.isCa || !issuer.canSignCertificates) {
      fail("ATTESTATION_CHAIN_INVALID", `certificate ${i + 1} is not a CA`);
    }
    // intermediates below this issuer (not counting the leaf)
    if (issuer.pathLength !== undefined && i > issuer.pathLength) {
      fail("ATTESTATION_CHAIN_INVALID", `certificate ${i + 1}'s path length is exceeded`);
    }
    if (!isSignedBy(cert, issuer, options.ecdsa)) {
      fail("ATTESTATION_CHAIN_INVALID", `certificate ${i}'s signature does not verify`, {
        index: i,
      });
    }
  }
}

/** A parsed CRL: the serial numbers it revokes and its validity window. */
export type ParsedCrl = {
  tbs: Uint8Array;
  signatureCurve: EcdsaCurve;
  signature: Uint8Array;
  issuer: Uint8Array;
  thisUpdate: number;
  nextUpdate: number | undefined;
  /** Serial numbers (hex of the INTEGER content, as {@link ParsedCertificate.serialNumber}). */
  revokedSerials: ReadonlySet<string>;
};

/**
 * Parses a DER CRL signed with ECDSA.
 *
 * @throws ChaosCoreError ATTESTATION_COLLATERAL_INVALID when it is not one.
 */
export function parseCrl(der: Uint8Array): ParsedCrl {
  const code = "ATTESTATION_COLLATERAL_INVALID";
  try {
    const top = children(der, expectTag(readRoot(der), 0x30, "CertificateList"));
    if (top.length !== 3) throw new DerError("a CertificateList has three parts");
    const [tbsTlv, algTlv, sigTlv] = top as [Tlv, Tlv, Tlv];
    const signatureCurve = signatureAlgorithm(der, algTlv);
    const signature =
      signatureCurve === undefined
        ? null
        : derSignatureToRaw(bitStringBytes(der, sigTlv), signatureCurve);
    if (signatureCurve === undefined || signature === null) {
      return fail(code, "the CRL is not signed with ECDSA");
    }
    const t = children(der, expectTag(tbsTlv, 0x30, "TBSCertList"));
    let i = 0;
    if (t[0]?.tag === 0x02) i++;
    i++; // signature algorithm
    const issuer = encodingOf(der, expectTag(t[i++], 0x30, "issuer"));
    const thisUpdate = readTime(der, t[i++] as Tlv);
    let nextUpdate: number | undefined;
    if (t[i]?.tag === 0x17 || t[i]?.tag === 0x18) nextUpdate = readTime(der, t[i++] as Tlv);
    const revokedSerials = new Set<string>();
    if (t[i]?.tag === 0x30) {
      for (const entry of children(der, t[i++] as Tlv)) {
        const parts = children(der, expectTag(entry, 0x30, "revokedCertificate"));
        revokedSerials.add(hexOf(contentOf(der, expectTag(parts[0], 0x02, "userCertificate"))));
      }
    }
    if (t[i]?.tag === 0xa0) i++;
    if (i !== t.length) throw new DerError("the TBSCertList has extra parts");
    return {
      tbs: encodingOf(der, tbsTlv),
      signatureCurve,
      signature,
      issuer,
      thisUpdate,
      nextUpdate,
      revokedSerials,
    };
  } catch (cause) {
    if (cause instanceof ChaosCoreError) throw cause;
    return fail(code, "the CRL is not valid DER", {
      cause: cause instanceof Error ? cause.message : String(cause),
    });
  }
}

/**
 * Decodes every PEM CERTIFICATE block of `text`, in order.
 *
 * @throws ChaosCoreError `code` when a block is not base64.
 */
export function pemCertificates(
  text: string,
  code: ErrorCode = "ATTESTATION_EVIDENCE_MALFORMED",
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;
  // Strict: nothing but PEM certificate blocks, whitespace and trailing NULs (a block that does
  // not parse is an error, never skipped).
  if (text.replace(re, "").replace(/[\s\0]+/g, "") !== "") {
    fail(code, "the certificate chain holds text that is not a PEM certificate");
  }
  for (const m of text.matchAll(re)) {
    try {
      out.push(base64ToBytes((m[1] ?? "").replace(/\s+/g, "")));
    } catch {
      fail(code, "a PEM certificate is not base64");
    }
  }
  return out;
}
