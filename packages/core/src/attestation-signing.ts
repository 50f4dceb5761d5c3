/**
 * Signing of mock TEE quotes and their certificates (`chaoscore.attestation/v1`,
 * docs/spec/attestation.md §2): what the development TEE's quoting enclave does.
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  ATTESTATION_FORMAT,
  type AttestationCertificate,
  type AttestationQuote,
  CERTIFICATE_SIGNING_PREFIX,
  parseQuote,
  QUOTE_SIGNING_PREFIX,
} from "./attestation-formats.js";
import { canonicalJsonBytes } from "./canonical-json.js";
import { ChaosCoreError } from "./errors.js";
import { utf8 } from "./hash.js";
import { bytesToHex, concatBytes, type Hex, hexToBytes } from "./hex.js";

/** An Ed25519 key pair as hex (secret = the 32-byte seed). */
export type Ed25519KeyPair = { secretKey: Hex; publicKey: Hex };

/**
 * Creates an Ed25519 key pair (random, or from a 32-byte seed for
 * reproducible vectors and tests).
 * @throws ChaosCoreError INVALID_INPUT when the seed is not 32 bytes.
 * @example const root = generateAttestationKey();
 */
export function generateAttestationKey(seed?: Uint8Array): Ed25519KeyPair {
  if (seed !== undefined && (!(seed instanceof Uint8Array) || seed.length !== 32)) {
    throw new ChaosCoreError("INVALID_INPUT", "an Ed25519 seed is 32 bytes");
  }
  const secret = seed === undefined ? ed25519.utils.randomSecretKey() : seed.slice();
  return { secretKey: bytesToHex(secret), publicKey: bytesToHex(ed25519.getPublicKey(secret)) };
}

/** The bytes an issuer signs for a certificate. */
export function certificateSigningInput(
  cert: Omit<AttestationCertificate, "signature">,
): Uint8Array {
  const { subject, publicKey, notBefore, notAfter, issuer } = cert;
  return concatBytes(
    utf8(CERTIFICATE_SIGNING_PREFIX),
    canonicalJsonBytes({ subject, publicKey, notBefore, notAfter, issuer }),
  );
}

/** The bytes the enclave key signs for a quote. */
export function quoteSigningInput(quote: Omit<AttestationQuote, "signature">): Uint8Array {
  const { format, provider, measurement, reportData, nonce, timestamp, enclaveKey } = quote;
  const certificateChain = quote.certificateChain.map((c) => ({
    subject: c.subject,
    publicKey: c.publicKey,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    issuer: c.issuer,
    signature: c.signature,
  }));
  return concatBytes(
    utf8(QUOTE_SIGNING_PREFIX),
    canonicalJsonBytes({
      format,
      provider,
      measurement,
      reportData,
      nonce,
      timestamp,
      enclaveKey,
      certificateChain,
    }),
  );
}

/**
 * Issues a certificate for `publicKey`, signed by `issuerSecretKey`.
 * @example issueAttestationCertificate({ subject: "enclave", publicKey, issuer: "root",
 *   issuerSecretKey: root.secretKey, notBefore: 0n, notAfter: 2n ** 32n })
 */
export function issueAttestationCertificate(args: {
  subject: string;
  publicKey: Hex;
  issuer: string;
  issuerSecretKey: Hex;
  notBefore: bigint | number;
  notAfter: bigint | number;
}): AttestationCertificate {
  const body = {
    subject: args.subject,
    publicKey: args.publicKey,
    notBefore: BigInt(args.notBefore).toString(),
    notAfter: BigInt(args.notAfter).toString(),
    issuer: args.issuer,
  };
  const signature = ed25519.sign(
    certificateSigningInput(body),
    hexToBytes(args.issuerSecretKey, 32),
  );
  return { ...body, signature: bytesToHex(signature) };
}

/**
 * Builds and signs a quote with the enclave key (what a TEE's quoting
 * enclave does). The chain's first certificate must certify the enclave key.
 * @throws ChaosCoreError ATTESTATION_MALFORMED when the result is not a valid v1 quote.
 * @example signQuote({ provider: "mock-tee", measurement, reportData, nonce,
 *   timestamp: 1700000000n, enclaveSecretKey, certificateChain: [cert] })
 */
export function signQuote(args: {
  provider: string;
  measurement: Hex;
  reportData: Hex;
  nonce: Hex;
  timestamp: bigint | number;
  enclaveSecretKey: Hex;
  certificateChain: readonly AttestationCertificate[];
}): AttestationQuote {
  const secret = hexToBytes(args.enclaveSecretKey, 32);
  const body: Omit<AttestationQuote, "signature"> = {
    format: ATTESTATION_FORMAT,
    provider: args.provider,
    measurement: args.measurement,
    reportData: args.reportData,
    nonce: args.nonce,
    timestamp: BigInt(args.timestamp).toString(),
    enclaveKey: bytesToHex(ed25519.getPublicKey(secret)),
    certificateChain: [...args.certificateChain],
  };
  const signature = ed25519.sign(quoteSigningInput(body), secret);
  return parseQuote({ ...body, signature: bytesToHex(signature) });
}
