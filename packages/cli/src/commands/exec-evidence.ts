/**
 * `chaoscore exec verify <file>` for real TEE evidence: a `chaoscore.tee-evidence/v1`
 * JSON file, or the vendor's raw bytes (an AWS Nitro attestation document, a TDX
 * quote), judged under the `attestation` member of a trust policy file.
 */
import { readFile } from "node:fs/promises";
import {
  parseAttestationPolicy,
  TEE_EVIDENCE_FORMAT,
  type TeeEvidence,
  toTeeEvidence,
  verifyTeeEvidence,
} from "@chaoscore/core";
import { nodeEcdsaVerifier } from "@chaoscore/core/tee/node-ecdsa";
import { out, printFields, printJson, UsageError } from "../output.js";

/** The evidence in `bytes`, when it is evidence (JSON of the format, or raw Nitro/TDX bytes); else null. */
export function readEvidence(bytes: Uint8Array): TeeEvidence | unknown | null {
  if (bytes[0] === 0x7b) {
    try {
      const json = JSON.parse(new TextDecoder().decode(bytes)) as { format?: unknown };
      return json?.format === TEE_EVIDENCE_FORMAT ? json : null;
    } catch {
      return null;
    }
  }
  // a COSE_Sign1 array (0x84) or tag 18 (0xd2): Nitro; version 4/5 with TEE type 0x81: TDX
  if (bytes[0] === 0x84 || bytes[0] === 0xd2) return toTeeEvidence("aws-nitro", bytes);
  if ((bytes[0] === 4 || bytes[0] === 5) && bytes[1] === 0 && bytes[4] === 0x81) {
    return toTeeEvidence("intel-tdx", bytes);
  }
  return null;
}

export async function runExecVerifyEvidence(
  evidence: unknown,
  opts: { policy?: string; at?: number; json?: boolean },
): Promise<void> {
  let policy = {};
  if (opts.policy !== undefined) {
    let json: { attestation?: unknown; format?: unknown };
    try {
      json = JSON.parse(await readFile(opts.policy, "utf8"));
    } catch {
      throw new UsageError(`${opts.policy} is not a readable JSON trust policy`);
    }
    policy = parseAttestationPolicy(json?.format === undefined ? json : (json.attestation ?? {}));
  }
  const now = opts.at ?? Math.floor(Date.now() / 1000);
  const verified = verifyTeeEvidence(evidence, policy, { now, ecdsa: nodeEcdsaVerifier });
  if (opts.json === true) printJson({ valid: true, ...verified });
  else {
    out(`✓ ${verified.platform} evidence verified at ${new Date(now * 1000).toISOString()}`);
    printFields([
      ["platform", verified.platform],
      [
        "TCB status",
        verified.qeStatus === undefined
          ? verified.tcbStatus
          : `${verified.tcbStatus} (QE ${verified.qeStatus})`,
      ],
      ...(verified.tcb === undefined
        ? []
        : [
            [
              "reported TCB",
              Object.entries(verified.tcb)
                .map(([k, v]) => `${k} ${v}`)
                .join(", "),
            ] as [string, string],
          ]),
      ...Object.entries(verified.measurements).map(([k, v]) => [k, v] as [string, string]),
      ["report data", verified.reportData ?? "—"],
      ["root", verified.rootFingerprint],
    ]);
  }
}
