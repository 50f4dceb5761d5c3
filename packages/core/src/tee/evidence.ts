/**
 * Real TEE evidence as ChaosCore carries it (`chaoscore.tee-evidence/v1`), the
 * attestation policy of the trust policy file (`attestation` member of
 * `chaoscore.trust-policy/v1`), and one entry point that judges evidence under
 * that policy, including its binding to the agent and the run
 * (docs/spec/attestation.md §8–§9).
 *
 * @module
 */
import { type Static, Type } from "@sinclair/typebox";
import { canonicalJsonBytes } from "../canonical-json.js";
import { ChaosCoreError } from "../errors.js";
import { sha256Hex } from "../hash.js";
import { type Address, bytesToBase64, type Hex } from "../hex.js";
import { compileParser } from "../schemas.js";
import { assertAgentBoundNonce, tdxReportData } from "./binding.js";
import type { EcdsaVerifier } from "./ecdsa.js";
import { NITRO_PLATFORM, NITRO_POLICY_PCRS, verifyNitroDocument } from "./nitro.js";
import { SNP_PLATFORM, type SnpCertificates, verifySnpReport } from "./snp.js";
import { TDX_PLATFORM, verifyTdxQuote } from "./tdx.js";
import { TCB_STATUSES, type TcbStatus } from "./tdx-collateral.js";

/** Format tag of carried TEE evidence. */
export const TEE_EVIDENCE_FORMAT = "chaoscore.tee-evidence/v1";

const Base64 = Type.String({ pattern: "^[A-Za-z0-9+/]*={0,2}$", maxLength: 96 * 1024 });
const Sha256Hex = Type.String({ pattern: "^[0-9a-f]{64}$" });
const Hex48 = Type.Unsafe<Hex>(Type.String({ pattern: "^0x[0-9a-f]{96}$" }));
const Text = (max: number) => Type.String({ maxLength: max });
const Hex32 = Type.Unsafe<Hex>(Type.String({ pattern: "^0x[0-9a-f]{64}$" }));
/** The run's nonce (agent address ‖ salt, attestation.md §9): 1 to 64 bytes, lowercase hex. */
const NonceHex = Type.Unsafe<Hex>(Type.String({ pattern: "^0x(?:[0-9a-f]{2}){1,64}$" }));

/** Intel PCS collateral, verbatim (see {@link TdxCollateral}). */
const CollateralSchema = Type.Object(
  {
    tcbInfo: Text(1024 * 1024),
    tcbInfoIssuerChain: Text(16 * 1024),
    qeIdentity: Text(64 * 1024),
    qeIdentityIssuerChain: Text(16 * 1024),
    pckCrl: Type.Optional(Base64),
  },
  { additionalProperties: false },
);

export const TeeEvidenceSchema = Type.Union([
  Type.Object(
    {
      format: Type.Literal(TEE_EVIDENCE_FORMAT),
      platform: Type.Literal(NITRO_PLATFORM),
      document: Base64,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      format: Type.Literal(TEE_EVIDENCE_FORMAT),
      platform: Type.Literal(TDX_PLATFORM),
      quote: Base64,
      collateral: Type.Optional(CollateralSchema),
      /**
       * The run's nonce, whose SHA-256 is the second half of REPORTDATA (§9):
       * a TDX quote does not carry it, so evidence that must show its agent does.
       */
      nonce: Type.Optional(NonceHex),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      format: Type.Literal(TEE_EVIDENCE_FORMAT),
      platform: Type.Literal(SNP_PLATFORM),
      /** The attestation report (0x4A0 bytes). */
      report: Base64,
      /** The VCEK, the ASK and the ARK (DER), as AMD's KDS serves them. */
      certificates: Type.Array(Base64, { minItems: 3, maxItems: 3 }),
      /** The run's nonce, whose SHA-256 is the second half of REPORT_DATA (§9). */
      nonce: Type.Optional(NonceHex),
    },
    { additionalProperties: false },
  ),
]);
export type TeeEvidence = Static<typeof TeeEvidenceSchema>;

const TcbStatusSchema = Type.Union(TCB_STATUSES.map((s) => Type.Literal(s)));

/** The `attestation` member of `chaoscore.trust-policy/v1`. */
export const AttestationTrustPolicySchema = Type.Object(
  {
    /** Platforms accepted; default all four. */
    platforms: Type.Optional(
      Type.Array(
        Type.Union([
          Type.Literal("mock-tee"),
          Type.Literal(NITRO_PLATFORM),
          Type.Literal(TDX_PLATFORM),
          Type.Literal(SNP_PLATFORM),
        ]),
        {
          minItems: 1,
          maxItems: 4,
          uniqueItems: true,
        },
      ),
    ),
    /**
     * Whether evidence must bind the acting agent (its nonce starts with the agent's
     * address, attestation.md §9) to pass in a receipt. Default true; false only to
     * audit evidence made without the binding (public vectors, third-party enclaves):
     * then another agent's evidence passes too, and the result says `agentBound: false`.
     */
    requireAgentBinding: Type.Optional(Type.Boolean()),
    /** The development TEE: its Ed25519 roots (without them a mock quote does not pass). */
    mock: Type.Optional(
      Type.Object(
        {
          trustedRoots: Type.Array(Hex32, { minItems: 1, maxItems: 64 }),
          allowedMeasurements: Type.Optional(Type.Array(Hex32, { minItems: 1, maxItems: 256 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Oldest evidence accepted, seconds before the time judged (Nitro timestamp; mock quote). */
    maxAgeSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 365 * 86400 })),
    nitro: Type.Optional(
      Type.Object(
        {
          trustedRoots: Type.Optional(Type.Array(Sha256Hex, { minItems: 1, maxItems: 16 })),
          allowedPcrs: Type.Optional(
            Type.Object(
              Object.fromEntries(
                NITRO_POLICY_PCRS.map((i) => [
                  i,
                  Type.Optional(Type.Array(Hex48, { minItems: 1, maxItems: 64 })),
                ]),
              ),
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    tdx: Type.Optional(
      Type.Object(
        {
          trustedRoots: Type.Optional(Type.Array(Sha256Hex, { minItems: 1, maxItems: 16 })),
          allowedMrTd: Type.Optional(Type.Array(Hex48, { minItems: 1, maxItems: 64 })),
          allowedRtmrs: Type.Optional(
            Type.Object(
              Object.fromEntries(
                ["0", "1", "2", "3"].map((i) => [
                  i,
                  Type.Optional(Type.Array(Hex48, { minItems: 1, maxItems: 64 })),
                ]),
              ),
              { additionalProperties: false },
            ),
          ),
          allowedTcbStatuses: Type.Optional(
            Type.Array(TcbStatusSchema, { minItems: 1, maxItems: 10, uniqueItems: true }),
          ),
          allowDebug: Type.Optional(Type.Boolean()),
          /** Refuse a quote given without collateral (default true: the TCB status must be known). */
          requireCollateral: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    snp: Type.Optional(
      Type.Object(
        {
          /** Accepted ARKs (SHA-256 of the DER); default AMD's Milan and Genoa ARKs. */
          trustedRoots: Type.Optional(Type.Array(Sha256Hex, { minItems: 1, maxItems: 16 })),
          allowedMeasurements: Type.Optional(Type.Array(Hex48, { minItems: 1, maxItems: 64 })),
          /** Least accepted REPORTED_TCB security patch levels. */
          minimumTcb: Type.Optional(
            Type.Object(
              Object.fromEntries(
                ["bootLoader", "tee", "snp", "microcode"].map((k) => [
                  k,
                  Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
                ]),
              ),
              { additionalProperties: false },
            ),
          ),
          allowDebug: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type AttestationTrustPolicy = Static<typeof AttestationTrustPolicySchema>;

const parseEvidenceShape = compileParser(
  TeeEvidenceSchema,
  "ATTESTATION_EVIDENCE_MALFORMED",
  "TEE evidence",
);
const parsePolicyShape = compileParser(
  AttestationTrustPolicySchema,
  "INVALID_INPUT",
  "the attestation policy",
);

/**
 * Parses carried TEE evidence.
 * @throws ChaosCoreError ATTESTATION_EVIDENCE_MALFORMED.
 */
export function parseTeeEvidence(value: unknown): TeeEvidence {
  return parseEvidenceShape(value);
}

/**
 * Parses the `attestation` member of a trust policy file.
 * @throws ChaosCoreError INVALID_INPUT (with `details.path`) when it does not match the schema.
 * @example parseAttestationPolicy(JSON.parse(text).attestation)
 */
export function parseAttestationPolicy(value: unknown): AttestationTrustPolicy {
  return parsePolicyShape(value);
}

/** What evidence must bind, when the caller knows the run (attestation.md §9). */
export type EvidenceBinding = { agent: Address; reportData: Hex; nonce: Hex };

/** The platform-neutral result: which platform, which measurements, which TCB status. */
export type VerifiedTeeEvidence = {
  platform: typeof NITRO_PLATFORM | typeof TDX_PLATFORM | typeof SNP_PLATFORM;
  /** Nitro: PCR index → value; TDX: MRTD and RTMR0–3; SNP: `measurement`, `hostData`. */
  measurements: Readonly<Record<string, Hex>>;
  /**
   * TDX: the TCB status (and QE status); Nitro: "n/a" (AWS publishes no TCB
   * levels); SNP: "n/a" (AMD rates no TCB: `tcb` gives the reported levels).
   */
  tcbStatus: TcbStatus | "n/a";
  /** SNP: the REPORTED_TCB security patch levels (what the VCEK certifies). */
  tcb?: Readonly<Record<string, number>>;
  qeStatus?: TcbStatus;
  /** Nitro: the document's time (unix s); TDX: null (quotes carry no time). */
  timestamp: number | null;
  reportData: Hex | null;
  nonce: Hex | null;
  rootFingerprint: string;
};

/**
 * Verifies carried TEE evidence under the trust policy's attestation member at
 * `now`, and (when `binding` is given) that it binds the agent and the run.
 *
 * @throws ChaosCoreError ATTESTATION_EVIDENCE_MALFORMED, ATTESTATION_MEASUREMENT_NOT_ALLOWED
 *   (platform not accepted), ATTESTATION_TCB_STATUS_NOT_ALLOWED (no collateral while required),
 *   ATTESTATION_AGENT_MISMATCH, ATTESTATION_REPORT_DATA_MISMATCH, and every code of
 *   {@link verifyNitroDocument} and {@link verifyTdxQuote}.
 */
export function verifyTeeEvidence(
  input: unknown,
  policy: AttestationTrustPolicy,
  options: { now: number; binding?: EvidenceBinding; ecdsa?: EcdsaVerifier },
): VerifiedTeeEvidence {
  const evidence = parseTeeEvidence(input);
  if (policy.platforms !== undefined && !policy.platforms.includes(evidence.platform)) {
    throw new ChaosCoreError(
      "ATTESTATION_MEASUREMENT_NOT_ALLOWED",
      `platform ${evidence.platform} is not accepted`,
    );
  }
  if (options.binding !== undefined)
    assertAgentBoundNonce(options.binding.nonce, options.binding.agent);
  const ecdsa = options.ecdsa === undefined ? {} : { ecdsa: options.ecdsa };
  if (evidence.platform === NITRO_PLATFORM) {
    const p = policy.nitro ?? {};
    const v = verifyNitroDocument(evidence.document, {
      now: options.now,
      ...ecdsa,
      ...(p.trustedRoots === undefined ? {} : { trustedRootFingerprints: p.trustedRoots }),
      ...(p.allowedPcrs === undefined ? {} : { allowedPcrs: p.allowedPcrs }),
      ...(policy.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: policy.maxAgeSeconds }),
      ...(options.binding === undefined
        ? {}
        : { expectedUserData: options.binding.reportData, expectedNonce: options.binding.nonce }),
    });
    return {
      platform: NITRO_PLATFORM,
      measurements: v.document.pcrs,
      tcbStatus: "n/a",
      timestamp: v.timestamp,
      reportData: v.document.userData,
      nonce: v.document.nonce,
      rootFingerprint: v.rootFingerprint,
    };
  }
  if (evidence.platform === SNP_PLATFORM) {
    const p = policy.snp ?? {};
    const v = verifySnpReport(
      evidence.report,
      evidence.certificates as unknown as SnpCertificates,
      {
        now: options.now,
        ...ecdsa,
        ...(p.trustedRoots === undefined ? {} : { trustedRootFingerprints: p.trustedRoots }),
        ...(p.allowedMeasurements === undefined
          ? {}
          : { allowedMeasurements: p.allowedMeasurements }),
        ...(p.minimumTcb === undefined ? {} : { minimumTcb: p.minimumTcb }),
        ...(p.allowDebug === undefined ? {} : { allowDebug: p.allowDebug }),
        ...(options.binding === undefined
          ? {}
          : {
              expectedReportData: tdxReportData(options.binding.reportData, options.binding.nonce),
            }),
      },
    );
    return {
      platform: SNP_PLATFORM,
      measurements: { measurement: v.report.measurement, hostData: v.report.hostData },
      tcbStatus: "n/a",
      tcb: { ...v.report.reportedTcb },
      timestamp: null,
      reportData: v.report.reportData,
      nonce: null,
      rootFingerprint: v.rootFingerprint,
    };
  }
  const p = policy.tdx ?? {};
  if (evidence.collateral === undefined && p.requireCollateral !== false) {
    throw new ChaosCoreError(
      "ATTESTATION_TCB_STATUS_NOT_ALLOWED",
      "the TDX quote comes without collateral: its TCB status is unknown",
      { details: { tcbStatus: "Unknown" } },
    );
  }
  const v = verifyTdxQuote(
    evidence.quote,
    {
      now: options.now,
      ...ecdsa,
      ...(p.trustedRoots === undefined ? {} : { trustedRootFingerprints: p.trustedRoots }),
      ...(p.allowedMrTd === undefined ? {} : { allowedMrTd: p.allowedMrTd }),
      ...(p.allowedRtmrs === undefined ? {} : { allowedRtmrs: p.allowedRtmrs }),
      ...(p.allowedTcbStatuses === undefined ? {} : { allowedTcbStatuses: p.allowedTcbStatuses }),
      ...(p.allowDebug === undefined ? {} : { allowDebug: p.allowDebug }),
      ...(options.binding === undefined
        ? {}
        : { expectedReportData: tdxReportData(options.binding.reportData, options.binding.nonce) }),
    },
    evidence.collateral,
  );
  const body = v.quote.body;
  return {
    platform: TDX_PLATFORM,
    measurements: {
      mrTd: body.mrTd,
      rtmr0: body.rtmrs[0],
      rtmr1: body.rtmrs[1],
      rtmr2: body.rtmrs[2],
      rtmr3: body.rtmrs[3],
    },
    tcbStatus: v.tcb.tcbStatus,
    qeStatus: v.tcb.qeStatus,
    timestamp: null,
    reportData: body.reportData,
    nonce: null,
    rootFingerprint: v.rootFingerprint,
  };
}

/**
 * Wraps raw evidence bytes in the carried format; `nonce` (TDX) is the run's
 * nonce whose SHA-256 ends REPORTDATA (§9).
 */
export function toTeeEvidence(
  platform: typeof NITRO_PLATFORM | typeof TDX_PLATFORM,
  bytes: Uint8Array,
  collateral?: Static<typeof CollateralSchema>,
  nonce?: Hex,
): TeeEvidence {
  const b64 = bytesToBase64(bytes);
  return platform === NITRO_PLATFORM
    ? { format: TEE_EVIDENCE_FORMAT, platform, document: b64 }
    : {
        format: TEE_EVIDENCE_FORMAT,
        platform,
        quote: b64,
        ...(collateral === undefined ? {} : { collateral }),
        ...(nonce === undefined ? {} : { nonce }),
      };
}

/**
 * Wraps an SEV-SNP report and its VCEK, ASK and ARK (DER) in the carried
 * format; `nonce` is the run's nonce whose SHA-256 ends REPORT_DATA (§9).
 */
export function snpEvidence(
  report: Uint8Array,
  certificates: readonly [Uint8Array, Uint8Array, Uint8Array],
  nonce?: Hex,
): TeeEvidence {
  return {
    format: TEE_EVIDENCE_FORMAT,
    platform: SNP_PLATFORM,
    report: bytesToBase64(report),
    certificates: certificates.map((c) => bytesToBase64(c)),
    ...(nonce === undefined ? {} : { nonce }),
  };
}

/**
 * SHA-256(JCS(evidence)): the `attestationHash` an action signs for carried
 * evidence (the same rule as for a mock quote, attestation.md §10).
 * @throws ChaosCoreError ATTESTATION_EVIDENCE_MALFORMED.
 * @example signAction({ ..., attestationHash: teeEvidenceHash(evidence) })
 */
export function teeEvidenceHash(evidence: unknown): Hex {
  return sha256Hex(canonicalJsonBytes(parseTeeEvidence(evidence)));
}
