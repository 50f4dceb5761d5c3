/**
 * `receipt verify --policy` on chaoscore.receipt/v3 vectors: real TEE evidence
 * judged under the trust policy's attestation member; the output names the
 * platform, the measurements and the TCB status.
 */

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TRUST_POLICY_FORMAT } from "@chaoscore/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, expectCode } from "./test-support/run-cli.js";

const VECTORS = fileURLToPath(new URL("../../../vectors/receipts/", import.meta.url));
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "chaoscore-receipt-tee-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Writes a vector's receipt and a trust policy with its attestation member; returns the paths. */
async function files(vector: string): Promise<{ receipt: string; policy: string }> {
  const v = JSON.parse(await readFile(join(VECTORS, `${vector}.json`), "utf8"));
  const key = (await readFile(join(VECTORS, "log-key.txt"), "utf8")).trim();
  const receipt = join(work, `${vector}.receipt.json`);
  const policy = join(work, `${vector}.policy.json`);
  await writeFile(receipt, JSON.stringify(v.receipt));
  await writeFile(
    policy,
    JSON.stringify({ format: TRUST_POLICY_FORMAT, log: { key }, attestation: v.attestationPolicy }),
  );
  return { receipt, policy };
}

describe("chaoscore receipt verify --policy with real TEE evidence", () => {
  it("names the platform, the PCRs and that the agent binding was waived (Nitro)", async () => {
    const f = await files("valid-v3-nitro");
    const r = expectCode(
      await cli("--data-dir", work, "receipt", "verify", f.receipt, "--policy", f.policy),
      0,
    );
    expect(r.stdout).toContain("✓ receipt verified");
    expect(r.stdout).toContain("verified: aws-nitro, root 641a0321");
    expect(r.stdout).toContain("PCR0 0xea4212ee");
    expect(r.stdout).toContain("NOT bound to the acting agent");
  });

  it("names the TCB status (TDX), also in --json", async () => {
    const f = await files("valid-v3-tdx");
    const r = expectCode(
      await cli("--data-dir", work, "receipt", "verify", f.receipt, "--policy", f.policy, "--json"),
      0,
    );
    expect(JSON.parse(r.stdout)).toMatchObject({
      valid: true,
      attestation: "verified",
      attestationResult: { platform: "intel-tdx", tcbStatus: "NotSupported", qeStatus: "UpToDate" },
    });
  });

  it("fails unbound evidence under a policy that requires the binding", async () => {
    const f = await files("tampered-v3-nitro-unbound");
    const r = expectCode(
      await cli("--data-dir", work, "receipt", "verify", f.receipt, "--policy", f.policy),
      1,
    );
    expect(r.stderr).toContain("✗ RECEIPT_ATTESTATION_INVALID");
    expect(r.stderr).toContain("ATTESTATION_AGENT_MISMATCH");
  });

  it("exec verify takes carried SEV-SNP evidence, and names the code of a tampered report", async () => {
    const v = JSON.parse(await readFile(join(VECTORS, "valid-v3-snp.json"), "utf8"));
    const evidence = join(work, "snp-evidence.json");
    const policy = join(work, "snp-policy.json");
    await writeFile(evidence, JSON.stringify(v.receipt.attestation));
    await writeFile(policy, JSON.stringify({ snp: { allowDebug: true } }));
    const at = ["--policy", policy, "--at", "1663981200"];
    const r = expectCode(await cli("--data-dir", work, "exec", "verify", evidence, ...at), 0);
    expect(r.stdout).toContain("✓ amd-sev-snp evidence verified");
    expect(r.stdout).toContain("bootLoader 2, tee 0, snp 5, microcode 68");
    const report = Buffer.from(v.receipt.attestation.report, "base64");
    report[0x90] = (report[0x90] as number) ^ 1; // MEASUREMENT
    await writeFile(
      evidence,
      JSON.stringify({ ...v.receipt.attestation, report: report.toString("base64") }),
    );
    const bad = await cli("--data-dir", work, "exec", "verify", evidence, ...at);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("ATTESTATION_SNP_REPORT_SIGNATURE_INVALID");
  });
});
