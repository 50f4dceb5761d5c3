/**
 * The AMD SEV-SNP certificate chain as AMD's Key Distribution Service issues
 * it: ARK (AMD Root Key, self-signed) → ASK (AMD SEV Key) → VCEK (Versioned
 * Chip Endorsement Key, per chip and TCB). ARK and ASK are RSA-4096, every
 * certificate is signed with RSASSA-PSS (SHA-384, MGF1-SHA-384, salt 48); the
 * VCEK's key is ECDSA P-384 and carries the chip ID and TCB levels in AMD's
 * extensions (AMD, "Versioned Chip Endorsement Key (VCEK) Certificate and KDS
 * Interface Specification", #57230). Parsed with our DER walker (der.ts).
 *
 * @module
 */
import { ChaosCoreError, fail } from "../errors.js";
import { sha256 } from "../hash.js";
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
import { type RsaPublicKey, verifyRsaPssSha384 } from "./rsa-pss.js";
import type { SignatureCache } from "./signature-cache.js";

/**
 * SHA-256 of the DER of AMD's root keys (as AMD's KDS serves them at
 * `/vcek/v1/{Milan,Genoa}/cert_chain`): the ARK of each product line whose
 * TCB layout this verifier reads.
 */
export const AMD_ARK_MILAN_SHA256 =
  "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd";
export const AMD_ARK_GENOA_SHA256 =
  "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1";

/** The exact AlgorithmIdentifier of RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48, trailer 1. */
const RSA_PSS_SHA384 =
  "304606092a864886f70d01010a3039a00f300d06096086480165030402020500a11c301a06092a864886f70d010108300d06096086480165030402020500a203020130a303020101";
const OID_RSA_ENCRYPTION = "2a864886f70d010101";
const OID_EC_PUBLIC_KEY = "2a8648ce3d0201";
const OID_SECP384R1 = "2b81040022";
const OID_BASIC_CONSTRAINTS = "551d13";
/** AMD's VCEK extensions (content hex of 1.3.6.1.4.1.3704.1.3.x and .1.4). */
export const VCEK_EXTENSIONS = {
  bootLoader: "2b060104019c78010301",
  tee: "2b060104019c78010302",
  snp: "2b060104019c78010303",
  microcode: "2b060104019c78010308",
  hwId: "2b060104019c780104",
} as const;

/** A parsed AMD KDS certificate. */
export type AmdCertificate = {
  der: Uint8Array;
  /** SHA-256 of the DER, lowercase hex without 0x. */
  fingerprint: string;
  tbs: Uint8Array;
  signature: Uint8Array;
  /** An RSA key (ARK, ASK) or a P-384 point (VCEK, uncompressed SEC1). */
  publicKey: { kind: "rsa"; key: RsaPublicKey } | { kind: "p384"; point: Uint8Array };
  notBefore: number;
  notAfter: number;
  subject: Uint8Array;
  issuer: Uint8Array;
  isCa: boolean;
  extensions: ReadonlyMap<string, Uint8Array>;
};

const stripSign = (b: Uint8Array): Uint8Array => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
};

/**
 * Parses an AMD KDS certificate (DER).
 * @throws ChaosCoreError ATTESTATION_CHAIN_INVALID when it is not X.509 v3
 *   signed with RSASSA-PSS SHA-384 and keyed with RSA or P-384.
 */
export function parseAmdCertificate(der: Uint8Array): AmdCertificate {
  const code = "ATTESTATION_CHAIN_INVALID";
  try {
    const top = children(der, expectTag(readRoot(der), 0x30, "Certificate"));
    if (top.length !== 3) throw new DerError("a Certificate has three parts");
    const [tbsTlv, algTlv, sigTlv] = top as [Tlv, Tlv, Tlv];
    if (hexOf(encodingOf(der, algTlv)) !== RSA_PSS_SHA384) {
      return fail(code, "an AMD certificate is not signed with RSASSA-PSS SHA-384");
    }
    const signature = bitStringBytes(der, sigTlv);
    const tbs = children(der, expectTag(tbsTlv, 0x30, "TBSCertificate"));
    const version = children(der, expectTag(tbs[0], 0xa0, "version"));
    const v = contentOf(der, expectTag(version[0], 0x02, "version"));
    if (version.length !== 1 || v.length !== 1 || v[0] !== 2) throw new DerError("not X.509 v3");
    let i = 2; // version, serialNumber
    expectTag(tbs[1], 0x02, "serialNumber");
    const inner = tbs[i++];
    if (inner === undefined || hexOf(encodingOf(der, inner)) !== RSA_PSS_SHA384) {
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
    const keyOid = hexOf(contentOf(der, expectTag(keyAlg[0], 0x06, "OID")));
    const keyBits = bitStringBytes(der, spki[1] as Tlv);
    let publicKey: AmdCertificate["publicKey"];
    if (keyOid === OID_RSA_ENCRYPTION) {
      const rsa = children(keyBits, expectTag(readRoot(keyBits), 0x30, "RSAPublicKey"));
      if (rsa.length !== 2) throw new DerError("RSAPublicKey has two parts");
      const n = stripSign(contentOf(keyBits, expectTag(rsa[0], 0x02, "modulus")));
      const e = stripSign(contentOf(keyBits, expectTag(rsa[1], 0x02, "exponent")));
      publicKey = { kind: "rsa", key: { n, e } };
    } else if (
      keyOid === OID_EC_PUBLIC_KEY &&
      keyAlg.length === 2 &&
      hexOf(contentOf(der, expectTag(keyAlg[1], 0x06, "curve"))) === OID_SECP384R1 &&
      keyBits.length === 97 &&
      keyBits[0] === 0x04
    ) {
      publicKey = { kind: "p384", point: keyBits };
    } else {
      return fail(code, "an AMD certificate's key is neither RSA nor P-384");
    }
    const extensions = new Map<string, Uint8Array>();
    let isCa = false;
    if (tbs[i]?.tag === 0xa3) {
      const wrapped = children(der, tbs[i++] as Tlv);
      for (const ext of children(der, expectTag(wrapped[0], 0x30, "Extensions"))) {
        const parts = children(der, expectTag(ext, 0x30, "Extension"));
        const oid = hexOf(contentOf(der, expectTag(parts[0], 0x06, "extnID")));
        const value = contentOf(der, expectTag(parts[parts.length - 1], 0x04, "extnValue"));
        if (parts.length !== 2 && parts.length !== 3) throw new DerError("an Extension's parts");
        if (extensions.has(oid)) return fail(code, "a certificate repeats an extension");
        extensions.set(oid, value);
        if (oid === OID_BASIC_CONSTRAINTS) {
          const bc = children(value, expectTag(readRoot(value), 0x30, "BasicConstraints"));
          isCa = bc[0]?.tag === 0x01 && value[bc[0].valueStart] === 0xff;
        }
      }
    }
    if (i !== tbs.length) throw new DerError("the TBSCertificate has extra parts");
    return {
      der,
      fingerprint: hexOf(sha256(der)),
      tbs: encodingOf(der, tbsTlv),
      signature,
      publicKey,
      notBefore,
      notAfter,
      subject,
      issuer,
      isCa,
      extensions,
    };
  } catch (cause) {
    if (cause instanceof ChaosCoreError) throw cause;
    return fail(code, "an AMD certificate is not valid DER X.509", {
      cause: cause instanceof Error ? cause.message : String(cause),
    });
  }
}

/** A VCEK's small INTEGER extension (an SPL), or undefined. */
export function vcekSpl(cert: AmdCertificate, oid: string): number | undefined {
  const value = cert.extensions.get(oid);
  if (
    value === undefined ||
    value.length < 3 ||
    value[0] !== 0x02 ||
    value[1] !== value.length - 2
  ) {
    return undefined;
  }
  let n = 0;
  for (const b of value.subarray(2)) n = n * 256 + b;
  return value.length > 6 || ((value[2] as number) & 0x80) !== 0 ? undefined : n;
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Checks [VCEK, ASK, ARK]: the ARK is pinned, every certificate is valid at
 * `atMs`, the ASK is a CA issued and RSASSA-PSS-signed by the ARK, the VCEK is
 * issued and signed by the ASK and has a P-384 key.
 * @throws ChaosCoreError ATTESTATION_ROOT_UNTRUSTED, ATTESTATION_CERT_EXPIRED,
 *   ATTESTATION_CHAIN_INVALID.
 */
export function verifyAmdChain(
  chain: readonly [AmdCertificate, AmdCertificate, AmdCertificate],
  options: {
    atMs: number;
    trustedRootFingerprints: readonly string[];
    /** Remembers RSASSA-PSS verifications that succeeded (signature-cache.ts). */
    signatureCache?: SignatureCache;
  },
): void {
  const [vcek, ask, ark] = chain;
  if (!options.trustedRootFingerprints.includes(ark.fingerprint)) {
    fail("ATTESTATION_ROOT_UNTRUSTED", "the VCEK chain does not end at a pinned AMD root", {
      rootFingerprint: ark.fingerprint,
    });
  }
  for (const [i, cert] of chain.entries()) {
    if (options.atMs < cert.notBefore || options.atMs > cert.notAfter) {
      fail("ATTESTATION_CERT_EXPIRED", `certificate ${i} is not valid at the time checked`, {
        index: i,
        notBefore: new Date(cert.notBefore).toISOString(),
        notAfter: new Date(cert.notAfter).toISOString(),
      });
    }
  }
  // The ARK is a trust anchor pinned by fingerprint: its self-signature is not checked.
  for (const [i, [child, issuer]] of [
    [vcek, ask],
    [ask, ark],
  ].entries()) {
    const c = child as AmdCertificate;
    const p = issuer as AmdCertificate;
    if (!equalBytes(c.issuer, p.subject) || !p.isCa || p.publicKey.kind !== "rsa") {
      fail("ATTESTATION_CHAIN_INVALID", `certificate ${i} is not issued by certificate ${i + 1}`);
    }
    const key = p.publicKey.key;
    const check = () => verifyRsaPssSha384(key, c.tbs, c.signature);
    const cache = options.signatureCache;
    if (
      !(cache ? cache.verify(["rsa-pss-sha384", key.n, key.e, c.tbs, c.signature], check) : check())
    ) {
      fail("ATTESTATION_CHAIN_INVALID", `certificate ${i}'s signature does not verify`, {
        index: i,
      });
    }
  }
  if (vcek.publicKey.kind !== "p384" || vcek.isCa) {
    fail("ATTESTATION_CHAIN_INVALID", "the VCEK is not a P-384 end-entity certificate");
  }
}
