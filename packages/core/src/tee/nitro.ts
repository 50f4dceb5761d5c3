/**
 * AWS Nitro Enclaves attestation documents: parsing and verification, written
 * against AWS's "Verifying the root of trust" (Nitro Enclaves User Guide) and
 * aws-nitro-enclaves-nsm-api's docs/attestation_process.md. Pure (no I/O).
 *
 * A document is a COSE_Sign1 (CBOR) signed with ES384 by the enclave's leaf
 * certificate, whose chain runs through `cabundle` (root first) to the AWS Nitro
 * Enclaves Root G1, pinned here by its SHA-256 fingerprint.
 *
 * @module
 */
import { fail } from "../errors.js";
import { base64ToBytes, bytesToHex, equalBytes, type Hex, hexToBytes } from "../hex.js";
import { COSE_ALG_ES384, coseSign1SigningInput, decodeCbor, decodeCoseSign1 } from "./cose.js";
import { type EcdsaVerifier, nobleEcdsaVerifier } from "./ecdsa.js";
import { type ParsedCertificate, parseCertificate, verifyCertificatePath } from "./x509.js";

/**
 * SHA-256 of the DER of "aws.nitro-enclaves" Root G1 (CN=aws.nitro-enclaves,
 * O=Amazon, OU=AWS, C=US; valid 2019-10-28 to 2049-10-28), as published by AWS
 * at https://docs.aws.amazon.com/enclaves/latest/user/verify-root.html.
 */
export const NITRO_ROOT_G1_SHA256 =
  "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

/** Provider name of Nitro evidence. */
export const NITRO_PLATFORM = "aws-nitro";

/** PCR indices a policy may pin (AWS: 0 image, 1 kernel, 2 application, 3 IAM role, 4 instance, 8 signing cert). */
export const NITRO_POLICY_PCRS = ["0", "1", "2", "3", "4", "8"] as const;
export type NitroPcrIndex = (typeof NITRO_POLICY_PCRS)[number];

/** A parsed attestation document (the payload plus the signature parts). */
export type NitroDocument = {
  moduleId: string;
  digest: "SHA384";
  /** Milliseconds since the epoch, as the NSM wrote it. */
  timestampMs: number;
  /** PCR index → value (0x-hex). */
  pcrs: Readonly<Record<string, Hex>>;
  certificate: Uint8Array;
  /** Root first, as in the document. */
  cabundle: readonly Uint8Array[];
  publicKey: Hex | null;
  userData: Hex | null;
  nonce: Hex | null;
  /** COSE parts for the signature check. */
  cose: { protectedHeader: Uint8Array; payload: Uint8Array; signature: Uint8Array };
};

/** What a Nitro verification checks beyond the signatures. */
export type NitroPolicy = {
  /** Unix seconds at which certificates must be valid and freshness is judged. */
  now: number;
  /** Accepted roots (SHA-256 of the DER, hex without 0x); default: the AWS Nitro Root G1. */
  trustedRootFingerprints?: readonly string[];
  /** For each pinned PCR, the accepted values (0x-hex, 48 bytes). */
  allowedPcrs?: Partial<Record<NitroPcrIndex, readonly Hex[]>>;
  /** Oldest accepted document, in seconds before `now` (default: no limit). */
  maxAgeSeconds?: number;
  /** How far in the future a document's timestamp may be (default 60 s). */
  maxFutureSkewSeconds?: number;
  /** When given, `user_data` must equal it. */
  expectedUserData?: Hex;
  /** When given, `nonce` must equal it. */
  expectedNonce?: Hex;
  ecdsa?: EcdsaVerifier;
};

/** The result of a passing verification. */
export type VerifiedNitroDocument = {
  platform: typeof NITRO_PLATFORM;
  document: NitroDocument;
  /** Unix seconds (floor of the document's timestamp). */
  timestamp: number;
  rootFingerprint: string;
  /** Subject key of the leaf certificate (uncompressed P-384 point). */
  signingKey: Hex;
};

const malformed = (message: string): never => fail("ATTESTATION_EVIDENCE_MALFORMED", message);

const KNOWN_KEYS = new Set([
  "module_id",
  "digest",
  "timestamp",
  "pcrs",
  "certificate",
  "cabundle",
  "public_key",
  "user_data",
  "nonce",
]);

function optionalBytes(value: unknown, name: string, max: number): Hex | null {
  if (value === undefined || value === null) return null;
  if (!(value instanceof Uint8Array) || value.length > max) {
    return malformed(`${name} is not a byte string of at most ${max} bytes`);
  }
  return bytesToHex(value);
}

/**
 * Parses a Nitro attestation document (raw COSE_Sign1 bytes or base64).
 * Checks structure only (AWS's "syntactical validation"), not signatures.
 *
 * @throws ChaosCoreError ATTESTATION_EVIDENCE_MALFORMED (not CBOR, not
 *   COSE_Sign1, a field missing or of the wrong type or size),
 *   ATTESTATION_ALGORITHM_UNSUPPORTED (the protected header is not ES384).
 */
export function parseNitroDocument(input: Uint8Array | string): NitroDocument {
  let data: Uint8Array;
  if (typeof input === "string") {
    try {
      data = base64ToBytes(input);
    } catch {
      return malformed("the attestation document is not canonical base64");
    }
  } else if (input instanceof Uint8Array) data = input;
  else return malformed("the attestation document is not bytes or base64");
  if (data.length > 64 * 1024) return malformed("the attestation document is larger than 64 KiB");
  const cose = decodeCoseSign1(data);
  const alg = cose.protectedMap.get(1);
  if (alg !== COSE_ALG_ES384 || cose.protectedMap.size !== 1) {
    fail("ATTESTATION_ALGORITHM_UNSUPPORTED", "the COSE algorithm is not ES384 (-35)", {
      alg: typeof alg === "number" ? alg : String(alg),
    });
  }
  if (cose.signature.length !== 96) return malformed("the ES384 signature is not 96 bytes");
  const payload = decodeCbor(cose.payload);
  if (!(payload instanceof Map)) return malformed("the payload is not a CBOR map");
  for (const key of payload.keys()) {
    if (typeof key !== "string" || !KNOWN_KEYS.has(key)) {
      return malformed(`the payload has an unknown field ${String(key)}`);
    }
  }
  const moduleId = payload.get("module_id");
  if (typeof moduleId !== "string" || moduleId.length === 0 || moduleId.length > 256) {
    return malformed("module_id is not a non-empty text");
  }
  if (payload.get("digest") !== "SHA384") return malformed('digest is not "SHA384"');
  const timestampMs = payload.get("timestamp");
  if (typeof timestampMs !== "number" || !Number.isSafeInteger(timestampMs) || timestampMs <= 0) {
    return malformed("timestamp is not a positive integer");
  }
  const rawPcrs = payload.get("pcrs");
  if (!(rawPcrs instanceof Map) || rawPcrs.size === 0 || rawPcrs.size > 32) {
    return malformed("pcrs is not a map of 1 to 32 entries");
  }
  const pcrs: Record<string, Hex> = {};
  for (const [index, value] of rawPcrs) {
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index > 31) {
      return malformed("a PCR index is not an integer 0..31");
    }
    if (!(value instanceof Uint8Array) || value.length !== 48) {
      return malformed(`PCR${index} is not 48 bytes (SHA-384)`);
    }
    pcrs[String(index)] = bytesToHex(value);
  }
  const certificate = payload.get("certificate");
  if (
    !(certificate instanceof Uint8Array) ||
    certificate.length === 0 ||
    certificate.length > 1024
  ) {
    return malformed("certificate is not a DER byte string of 1..1024 bytes");
  }
  const cabundle = payload.get("cabundle");
  if (
    !Array.isArray(cabundle) ||
    cabundle.length === 0 ||
    cabundle.length > 8 ||
    !cabundle.every((c) => c instanceof Uint8Array && c.length > 0 && c.length <= 1024)
  ) {
    return malformed("cabundle is not 1..8 DER byte strings");
  }
  return {
    moduleId,
    digest: "SHA384",
    timestampMs,
    pcrs,
    certificate,
    cabundle: cabundle as Uint8Array[],
    publicKey: optionalBytes(payload.get("public_key"), "public_key", 1024),
    userData: optionalBytes(payload.get("user_data"), "user_data", 1024),
    nonce: optionalBytes(payload.get("nonce"), "nonce", 1024),
    cose: {
      protectedHeader: cose.protectedHeader,
      payload: cose.payload,
      signature: cose.signature,
    },
  };
}

/**
 * Verifies a Nitro attestation document. Steps, in order (the first failure is
 * the result):
 *
 * 1. structure (see {@link parseNitroDocument})     → ATTESTATION_EVIDENCE_MALFORMED / ATTESTATION_ALGORITHM_UNSUPPORTED
 * 2. certificate → cabundle (reversed) → pinned root → ATTESTATION_ROOT_UNTRUSTED / ATTESTATION_CHAIN_INVALID
 *    every certificate valid at `now`               → ATTESTATION_CERT_EXPIRED
 * 3. the COSE ES384 signature under the leaf key     → ATTESTATION_NITRO_SIGNATURE_INVALID
 * 4. freshness: now − maxAge ≤ timestamp ≤ now + skew → ATTESTATION_STALE
 * 5. PCR allow-lists                                  → ATTESTATION_MEASUREMENT_NOT_ALLOWED
 * 6. expected user_data and nonce                     → ATTESTATION_REPORT_DATA_MISMATCH
 *
 * @throws ChaosCoreError with the codes above; INVALID_INPUT for a malformed policy.
 * @example verifyNitroDocument(base64Document, { now: 1663263808 })
 */
export function verifyNitroDocument(
  input: Uint8Array | string | NitroDocument,
  policy: NitroPolicy,
): VerifiedNitroDocument {
  if (!Number.isSafeInteger(policy.now) || policy.now < 0) {
    fail("INVALID_INPUT", "policy.now must be unix seconds");
  }
  const doc = typeof input === "object" && "cose" in input ? input : parseNitroDocument(input);
  const ecdsa = policy.ecdsa ?? nobleEcdsaVerifier;
  // 2. the certificate path: leaf, then cabundle from the end (closest to the leaf) to the root
  const path: ParsedCertificate[] = [parseCertificate(doc.certificate)];
  for (let i = doc.cabundle.length - 1; i >= 0; i--) {
    path.push(parseCertificate(doc.cabundle[i] as Uint8Array));
  }
  verifyCertificatePath(path, {
    atMs: policy.now * 1000,
    trustedRootFingerprints: policy.trustedRootFingerprints ?? [NITRO_ROOT_G1_SHA256],
    ecdsa,
  });
  const leaf = path[0] as ParsedCertificate;
  // 3. the document's signature
  if (
    leaf.publicKeyCurve !== "P-384" ||
    !ecdsa.verify(
      "P-384",
      leaf.publicKey,
      coseSign1SigningInput(doc.cose.protectedHeader, doc.cose.payload),
      doc.cose.signature,
    )
  ) {
    fail("ATTESTATION_NITRO_SIGNATURE_INVALID", "the document's ES384 signature does not verify");
  }
  // 4. freshness
  const timestamp = Math.floor(doc.timestampMs / 1000);
  const skew = policy.maxFutureSkewSeconds ?? 60;
  if (
    timestamp > policy.now + skew ||
    (policy.maxAgeSeconds !== undefined && timestamp < policy.now - policy.maxAgeSeconds)
  ) {
    fail("ATTESTATION_STALE", "the document's timestamp is outside the accepted window", {
      timestamp,
      now: policy.now,
    });
  }
  // 5. PCRs
  for (const [index, allowed] of Object.entries(policy.allowedPcrs ?? {})) {
    const value = doc.pcrs[index];
    if (allowed === undefined) continue;
    if (value === undefined || !allowed.some((a) => a.toLowerCase() === value)) {
      fail("ATTESTATION_MEASUREMENT_NOT_ALLOWED", `PCR${index} is not in the allow-list`, {
        pcr: index,
        value: value ?? null,
      });
    }
  }
  // 6. binding
  checkExpected(doc.userData, policy.expectedUserData, "user_data");
  checkExpected(doc.nonce, policy.expectedNonce, "nonce");
  return {
    platform: NITRO_PLATFORM,
    document: doc,
    timestamp,
    rootFingerprint: (path[path.length - 1] as ParsedCertificate).fingerprint,
    signingKey: bytesToHex(leaf.publicKey),
  };
}

function checkExpected(actual: Hex | null, expected: Hex | undefined, name: string): void {
  if (expected === undefined) return;
  let want: Uint8Array;
  try {
    want = hexToBytes(expected.toLowerCase());
  } catch {
    fail("INVALID_INPUT", `the expected ${name} is not hex`);
  }
  if (actual === null || !equalBytes(hexToBytes(actual), want)) {
    fail("ATTESTATION_REPORT_DATA_MISMATCH", `the document's ${name} is not the expected value`, {
      field: name,
    });
  }
}
