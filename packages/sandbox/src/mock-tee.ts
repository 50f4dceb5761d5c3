import {
  type AttestationCertificate,
  type AttestationPolicy,
  type AttestationQuote,
  ChaosCoreError,
  type Ed25519KeyPair,
  generateAttestationKey,
  type Hex,
  hexToBytes,
  isHex,
  issueAttestationCertificate,
  MOCK_TEE_PROVIDER,
  signQuote,
  type VerifiedQuote,
  verifyQuote,
} from "@chaoscore/core";

/**
 * A source of attestations (decision D9). A provider runs next to the
 * sandbox: `attest` returns a quote binding a measurement and report data
 * (SHA-256(inputHash ‖ outputHash ‖ nonce)) to a key certified by the
 * provider's root; `verify` checks a quote under a policy. The mock TEE
 * implements it in software; an AWS Nitro or Intel TDX provider implements
 * the same interface (docs/spec/attestation.md maps their documents).
 */
export interface AttestationProvider {
  /** The provider name written into quotes, e.g. "mock-tee". */
  readonly name: string;
  /** The public keys a verifier must trust for this provider's quotes. */
  readonly trustedRoots: readonly Hex[];
  /**
   * Produces a quote.
   * @throws ChaosCoreError INVALID_HEX / ATTESTATION_MALFORMED for malformed arguments.
   */
  attest(measurement: Hex, reportData: Hex, nonce: Hex): Promise<AttestationQuote>;
  /**
   * Verifies a quote (see `verifyQuote` in @chaoscore/core for the steps and codes).
   * @throws ChaosCoreError ATTESTATION_*.
   */
  verify(quote: unknown, policy: AttestationPolicy): VerifiedQuote;
}

/** Options of {@link MockTeeProvider}. */
export type MockTeeOptions = {
  /** The mock root key; generated when omitted (then only this process can verify its quotes). */
  rootKey?: Ed25519KeyPair;
  /** The enclave key; generated per provider when omitted. */
  enclaveKey?: Ed25519KeyPair;
  /** Issuer name on the enclave certificate (default "chaoscore mock-tee root"). */
  rootName?: string;
  /** Enclave certificate lifetime, seconds (default 24 h). */
  certificateLifetimeSeconds?: number;
  /** Clock in unix seconds (default: the system clock); quotes carry its value. */
  now?: () => number;
};

/**
 * The development TEE: a mock root key certifies an enclave key (a
 * one-certificate chain, like a PCK or Nitro enclave certificate), and the
 * enclave key signs `chaoscore.attestation/v1` quotes. It offers no hardware
 * protection at all: anyone with the root key can forge quotes. Use it for
 * development and tests, and trust only its root public key.
 *
 * @example
 * ```ts
 * const tee = MockTeeProvider.create();           // or new MockTeeProvider({ rootKey })
 * const quote = await tee.attest(measurement, reportData, nonce);
 * tee.verify(quote, { trustedRoots: tee.trustedRoots, maxAgeSeconds: 300, now });
 * ```
 */
export class MockTeeProvider implements AttestationProvider {
  readonly name = MOCK_TEE_PROVIDER;
  readonly rootPublicKey: Hex;
  readonly enclavePublicKey: Hex;
  readonly certificate: AttestationCertificate;
  private readonly enclaveSecretKey: Hex;
  private readonly rootKey: Ed25519KeyPair;
  private readonly now: () => number;

  /** @throws ChaosCoreError INVALID_INPUT for a malformed key. */
  constructor(options: MockTeeOptions = {}) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.rootKey = checkKey(options.rootKey ?? generateAttestationKey(), "rootKey");
    const enclave = checkKey(options.enclaveKey ?? generateAttestationKey(), "enclaveKey");
    this.rootPublicKey = this.rootKey.publicKey;
    this.enclavePublicKey = enclave.publicKey;
    this.enclaveSecretKey = enclave.secretKey;
    const issuedAt = this.now();
    this.certificate = issueAttestationCertificate({
      subject: `${MOCK_TEE_PROVIDER} enclave ${enclave.publicKey.slice(2, 18)}`,
      publicKey: enclave.publicKey,
      issuer: options.rootName ?? "chaoscore mock-tee root",
      issuerSecretKey: this.rootKey.secretKey,
      notBefore: issuedAt - 60,
      notAfter: issuedAt + (options.certificateLifetimeSeconds ?? 24 * 3600),
    });
  }

  /** A provider with a fresh random root and enclave key. */
  static create(options: Omit<MockTeeOptions, "rootKey" | "enclaveKey"> = {}): MockTeeProvider {
    return new MockTeeProvider(options);
  }

  /** Generates a mock root key pair to store (e.g. in the CLI's data directory). */
  static generateRootKey(): Ed25519KeyPair {
    return generateAttestationKey();
  }

  get trustedRoots(): readonly Hex[] {
    return [this.rootPublicKey];
  }

  /** The root key pair, to persist and load again with `new MockTeeProvider({ rootKey })`. */
  exportRootKey(): Ed25519KeyPair {
    return { ...this.rootKey };
  }

  async attest(measurement: Hex, reportData: Hex, nonce: Hex): Promise<AttestationQuote> {
    return signQuote({
      provider: this.name,
      measurement,
      reportData,
      nonce,
      timestamp: this.now(),
      enclaveSecretKey: this.enclaveSecretKey,
      certificateChain: [this.certificate],
    });
  }

  verify(quote: unknown, policy: AttestationPolicy): VerifiedQuote {
    return verifyQuote(quote, policy);
  }
}

function checkKey(key: Ed25519KeyPair, what: string): Ed25519KeyPair {
  if (!isHex(key?.secretKey, 32) || !isHex(key?.publicKey, 32)) {
    throw new ChaosCoreError(
      "INVALID_INPUT",
      `${what} must be 32-byte hex secretKey and publicKey`,
    );
  }
  const derived = generateAttestationKey(hexToBytes(key.secretKey, 32));
  if (derived.publicKey !== key.publicKey) {
    throw new ChaosCoreError(
      "INVALID_INPUT",
      `${what}: the public key does not match the secret key`,
    );
  }
  return key;
}
