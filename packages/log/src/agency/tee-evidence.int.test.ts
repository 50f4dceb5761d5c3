/**
 * Real TEE evidence at ingest (issue 16): an action that signs the hash of a
 * chaoscore.tee-evidence/v1 is recorded only under the log's evidence policy,
 * and its receipt is a chaoscore.receipt/v3 carrying the evidence unchanged.
 * The public Nitro document of vectors/attestation/ names no agent of ours, so
 * the default policy refuses it (the binding) and nothing is written.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type AttestationTrustPolicy,
  type ErrorCode,
  isChaosCoreError,
  teeEvidenceHash,
  toTeeEvidence,
  verifyReceipt,
  verifyTeeEvidence,
} from "@chaoscore/core";
import { openTestEngine, snapshot } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const VECTORS = join(import.meta.dirname, "..", "..", "..", "..", "vectors", "attestation");
const NITRO_NOW = 1663263864; // the document's time + 56 s (vectors/attestation/README.md)
const evidence = toTeeEvidence(
  "aws-nitro",
  new Uint8Array(readFileSync(join(VECTORS, "nitro", "cape-2022-09-15.cbor"))),
);
const PCR0 =
  "0xea4212ee889ba1b4dbfe744aadecca8b1930de60a3a1ce3b0c79f42b231700fc561c3d9b34f0565ed9eb6f460996624c";

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    if (!isChaosCoreError(error)) throw error;
    return `${error.code}${error.details?.cause === undefined ? "" : ` ${String(error.details.cause)}`}`;
  }
}

async function open(evidencePolicy?: AttestationTrustPolicy) {
  return openTestEngine({
    now: () => new Date(NITRO_NOW * 1000),
    attestation: {
      mode: "optional",
      trustedRoots: [],
      ...(evidencePolicy === undefined ? {} : { evidence: evidencePolicy }),
    },
  });
}

describe("real TEE evidence at ingest", () => {
  let strict: Awaited<ReturnType<typeof open>>;
  let audit: Awaited<ReturnType<typeof open>>;
  let none: Awaited<ReturnType<typeof open>>;
  beforeAll(async () => {
    strict = await open({ nitro: { allowedPcrs: { "0": [PCR0] } } });
    audit = await open({ requireAgentBinding: false, nitro: { allowedPcrs: { "0": [PCR0] } } });
    none = await open();
  });
  afterAll(async () => {
    await Promise.all([strict.close(), audit.close(), none.close()]);
  });

  const attested = async (h: typeof strict, extra: Record<string, unknown> = {}) => {
    const agent = await h.newAgent();
    return {
      ...agent.action({
        attestationHash: teeEvidenceHash(evidence),
        timestamp: NITRO_NOW,
        ...extra,
      }),
      attestation: evidence,
    };
  };

  it("refuses evidence that does not name the acting agent, writing nothing", async () => {
    const signed = await attested(strict);
    const before = await snapshot(strict.engine);
    expect(await codeOf(strict.engine.agency.recordAction(signed))).toBe(
      "AGENCY_ATTESTATION_MISMATCH ATTESTATION_AGENT_MISMATCH" satisfies `${ErrorCode} ${string}`,
    );
    expect(await snapshot(strict.engine)).toEqual(before);
  });

  it("refuses real evidence when the log has no evidence policy", async () => {
    const signed = await attested(none);
    expect(await codeOf(none.engine.agency.recordAction(signed))).toBe(
      "AGENCY_ATTESTATION_INVALID",
    );
  });

  it("refuses evidence that fails the policy (another PCR0) or another hash", async () => {
    const other = await open({
      requireAgentBinding: false,
      nitro: { allowedPcrs: { "0": [`0x${"00".repeat(48)}`] } },
    });
    try {
      expect(await codeOf(other.engine.agency.recordAction(await attested(other)))).toBe(
        "AGENCY_ATTESTATION_INVALID ATTESTATION_MEASUREMENT_NOT_ALLOWED",
      );
      const wrongHash = await attested(other, { attestationHash: `0x${"ab".repeat(32)}` });
      expect(await codeOf(other.engine.agency.recordAction(wrongHash))).toBe(
        "AGENCY_ATTESTATION_MISMATCH",
      );
    } finally {
      await other.close();
    }
  });

  it("records it under an audit policy; the receipt is a v3 carrying the evidence unchanged", async () => {
    const signed = await attested(audit);
    const r = await audit.engine.agency.recordAction(signed);
    const receipt = await audit.engine.agency.getReceipt(r.id);
    expect(receipt.format).toBe("chaoscore.receipt/v3");
    expect(receipt.attestation).toEqual(evidence);
    expect(verifyReceipt(receipt, audit.verifierKey).attestation).toBe("bound");
    const verified = verifyReceipt(receipt, audit.verifierKey, {
      attestationPolicy: { requireAgentBinding: false },
      evidenceVerifier: verifyTeeEvidence,
    });
    expect(verified.attestationResult).toMatchObject({
      platform: "aws-nitro",
      tcbStatus: "n/a",
      agentBound: false,
    });
    expect(verified.attestationResult?.measurements["0"]).toBe(PCR0);
  });
});
