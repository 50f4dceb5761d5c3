import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isChaosCoreError, parseTrustPolicy, verifyReceipt } from "./index.js";

const vector = (name: string) =>
  JSON.parse(
    readFileSync(
      fileURLToPath(new URL(`../../../vectors/trust-policy/${name}.json`, import.meta.url)),
      "utf8",
    ),
  );

describe("verifyReceipt (SDK)", () => {
  it("takes a log key, a parsed policy or a policy object", () => {
    const v = vector("receipt-valid-quorum-2-of-3");
    expect(verifyReceipt(v.receipt, v.policy.log.key).actionId).toBe(v.expected.actionId);
    expect(verifyReceipt(v.receipt, parseTrustPolicy(v.policy)).witnesses.verified).toBe(2);
    expect(verifyReceipt(v.receipt, v.policy as Record<string, unknown>).witnesses).toEqual(
      v.expected.witnesses,
    );
  });

  it("fails a receipt without the policy's quorum, which the log key alone accepts", () => {
    const v = vector("receipt-invalid-one-of-two");
    expect(verifyReceipt(v.receipt, v.policy.log.key).treeSize).toBe(4);
    let code = "none";
    try {
      verifyReceipt(v.receipt, v.policy);
    } catch (e) {
      code = isChaosCoreError(e) ? e.code : "not coded";
    }
    expect(code).toBe("RECEIPT_WITNESS_QUORUM");
  });

  it("judges real TEE evidence under the policy's attestation member (chaoscore.receipt/v3)", () => {
    const receipts = (name: string) =>
      fileURLToPath(new URL(`../../../vectors/receipts/${name}`, import.meta.url));
    const v = JSON.parse(readFileSync(receipts("valid-v3-tdx.json"), "utf8"));
    const key = readFileSync(receipts("log-key.txt"), "utf8").trim();
    const policy = {
      format: "chaoscore.trust-policy/v1",
      log: { key },
      attestation: v.attestationPolicy,
    };
    const result = verifyReceipt(v.receipt, policy);
    expect(result.attestation).toBe("verified");
    expect(result.attestationResult).toEqual(v.expected.attestationResult);
    expect(result.attestationResult?.tcbStatus).toBe("NotSupported");
    // the default TCB policy (UpToDate only) refuses it
    let code = "none";
    try {
      verifyReceipt(v.receipt, { ...policy, attestation: { requireAgentBinding: false } });
    } catch (e) {
      code = isChaosCoreError(e) ? `${e.code} ${String(e.details?.cause)}` : "not coded";
    }
    expect(code).toBe("RECEIPT_ATTESTATION_INVALID ATTESTATION_TCB_STATUS_NOT_ALLOWED");
  });
});
