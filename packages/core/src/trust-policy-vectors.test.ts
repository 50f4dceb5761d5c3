import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isChaosCoreError } from "./errors.js";
import { verifyReceiptWithPolicy } from "./receipt-policy.js";
import { parseTrustPolicy } from "./trust-policy.js";

const DIR = fileURLToPath(new URL("../../../vectors/trust-policy/", import.meta.url));
const files = readdirSync(DIR).filter((f) => f.endsWith(".json") && f !== "witnesses.json");
const load = (f: string) => JSON.parse(readFileSync(join(DIR, f), "utf8"));
const named = (prefix: string) => files.filter((f) => f.startsWith(prefix)).sort();

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return isChaosCoreError(e) ? e.code : `not coded: ${String(e)}`;
  }
  return "no error";
}

describe("vectors/trust-policy", () => {
  it("has policies and receipts of each kind", () => {
    expect(named("policy-valid-").length).toBeGreaterThanOrEqual(4);
    expect(named("policy-invalid-").length).toBeGreaterThanOrEqual(10);
    expect(named("receipt-valid-").length).toBeGreaterThanOrEqual(4);
    expect(named("receipt-invalid-").length).toBeGreaterThanOrEqual(10);
  });

  it.each(named("policy-valid-"))("%s parses to its expected policy", (f) => {
    const v = load(f);
    expect(JSON.parse(JSON.stringify(parseTrustPolicy(v.policy)))).toEqual(v.expected);
    expect(parseTrustPolicy(JSON.stringify(v.policy))).toEqual(parseTrustPolicy(v.policy));
  });

  it.each(named("policy-invalid-"))("%s fails with its code", (f) => {
    const v = load(f);
    expect(codeOf(() => parseTrustPolicy(v.policyText ?? v.policy))).toBe(v.expectedError);
  });

  it.each(named("receipt-valid-"))("%s verifies under its policy", (f) => {
    const v = load(f);
    const result = verifyReceiptWithPolicy(v.receipt, v.policy);
    expect(JSON.parse(JSON.stringify(result))).toEqual(v.expected);
    expect(result.witnesses.verified).toBeGreaterThanOrEqual(result.witnesses.required);
  });

  it.each(named("receipt-invalid-"))("%s fails with its code", (f) => {
    const v = load(f);
    expect(codeOf(() => verifyReceiptWithPolicy(v.receipt, v.policy))).toBe(v.expectedError);
  });

  it("a receipt valid under its policy fails the quorum when the policy asks one more", () => {
    const v = load("receipt-valid-quorum-2-of-3.json");
    const stricter = { ...v.policy, witnesses: { ...v.policy.witnesses, quorum: 3 } };
    expect(codeOf(() => verifyReceiptWithPolicy(v.receipt, stricter))).toBe(
      "RECEIPT_WITNESS_QUORUM",
    );
  });
});
