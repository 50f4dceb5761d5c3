import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isChaosCoreError } from "../errors.js";
import { bytesToHex, type Hex } from "../hex.js";
import {
  agentBoundNonce,
  assertAgentBoundNonce,
  isAgentBoundNonce,
  tdxReportData,
} from "./binding.js";
import {
  parseAttestationPolicy,
  parseTeeEvidence,
  snpEvidence,
  toTeeEvidence,
  verifyTeeEvidence,
} from "./evidence.js";
import { nodeEcdsaVerifier } from "./node-ecdsa.js";

const DIR = join(import.meta.dirname, "..", "..", "..", "..", "vectors", "attestation");
const file = (f: string) => readFileSync(join(DIR, f));
const nitro = toTeeEvidence("aws-nitro", new Uint8Array(file("nitro/cape-2022-09-15.cbor")));
const collateral = {
  tcbInfo: file("tdx/sample_tcbInfo_response").toString(),
  tcbInfoIssuerChain: file("tdx/tcb_info_issuer_chain.pem").toString(),
  qeIdentity: file("tdx/sample_qeIdentity_response").toString(),
  qeIdentityIssuerChain: file("tdx/qe_identity_issuer_chain.pem").toString(),
  pckCrl: file("tdx/pckcrl").toString("base64"),
};
const tdx = toTeeEvidence("intel-tdx", new Uint8Array(file("tdx/spr-e4-quote-v4.dat")), collateral);
const NOW_NITRO = 1663263864;
const NOW_TDX = 1688173200;
const AGENT = "0x1111111111111111111111111111111111111111" as const;

function codeOf(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    if (!isChaosCoreError(e)) throw e;
    return e.code;
  }
}

describe("agentBoundNonce / isAgentBoundNonce", () => {
  it("binds the agent's address and refuses another agent, a short salt or no binding", () => {
    const nonce = agentBoundNonce(AGENT, new Uint8Array(12).fill(7));
    expect(nonce).toBe(`${AGENT}${"07".repeat(12)}`);
    expect(isAgentBoundNonce(nonce, AGENT)).toBe(true);
    expect(isAgentBoundNonce(nonce, "0x2222222222222222222222222222222222222222")).toBe(false);
    expect(isAgentBoundNonce(`${AGENT}${"07".repeat(11)}`, AGENT)).toBe(false);
    expect(isAgentBoundNonce(`0x${"01".repeat(16)}`, AGENT)).toBe(false);
    expect(isAgentBoundNonce(agentBoundNonce(AGENT), AGENT)).toBe(true);
    expect(codeOf(() => assertAgentBoundNonce(`0x${"01".repeat(32)}`, AGENT))).toBe(
      "ATTESTATION_AGENT_MISMATCH",
    );
    expect(codeOf(() => agentBoundNonce("0x12" as never))).toBe("INVALID_INPUT");
  });
  it("TDX REPORTDATA is reportData ‖ SHA-256(nonce)", () => {
    const rd = `0x${"ab".repeat(32)}` as Hex;
    expect(tdxReportData(rd, "0x00")).toBe(
      `${rd}6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d`,
    );
  });
});

describe("parseAttestationPolicy (the trust policy's attestation member)", () => {
  it("accepts the documented shape and refuses unknown members with INVALID_INPUT", () => {
    const policy = parseAttestationPolicy({
      platforms: ["aws-nitro", "intel-tdx"],
      maxAgeSeconds: 600,
      nitro: { allowedPcrs: { "0": [`0x${"00".repeat(48)}`] } },
      tdx: { allowedTcbStatuses: ["UpToDate", "SWHardeningNeeded"], allowDebug: false },
    });
    expect(policy.platforms).toEqual(["aws-nitro", "intel-tdx"]);
    expect(codeOf(() => parseAttestationPolicy({ nitro: { allowedPcrs: { "5": [] } } }))).toBe(
      "INVALID_INPUT",
    );
    expect(codeOf(() => parseAttestationPolicy({ tdx: { allowedTcbStatuses: ["Fine"] } }))).toBe(
      "INVALID_INPUT",
    );
    expect(codeOf(() => parseAttestationPolicy({ extra: 1 }))).toBe("INVALID_INPUT");
  });
});

describe("verifyTeeEvidence", () => {
  it("reports platform, measurements and TCB status", () => {
    const n = verifyTeeEvidence(nitro, {}, { now: NOW_NITRO, ecdsa: nodeEcdsaVerifier });
    expect(n.platform).toBe("aws-nitro");
    expect(n.measurements["0"]).toMatch(/^0xea4212ee/);
    expect(n.tcbStatus).toBe("n/a");
    const t = verifyTeeEvidence(
      tdx,
      { tdx: { allowedTcbStatuses: ["UpToDate", "NotSupported"] } },
      { now: NOW_TDX, ecdsa: nodeEcdsaVerifier },
    );
    expect(t).toMatchObject({
      platform: "intel-tdx",
      tcbStatus: "NotSupported",
      qeStatus: "UpToDate",
      timestamp: null,
    });
    expect(Object.keys(t.measurements)).toEqual(["mrTd", "rtmr0", "rtmr1", "rtmr2", "rtmr3"]);
  });
  it("refuses a platform the policy does not accept, and TDX without collateral unless allowed", () => {
    expect(
      codeOf(() => verifyTeeEvidence(nitro, { platforms: ["intel-tdx"] }, { now: NOW_NITRO })),
    ).toBe("ATTESTATION_MEASUREMENT_NOT_ALLOWED");
    const { collateral: _dropped, ...bare } = tdx as typeof tdx & { collateral?: unknown };
    expect(codeOf(() => verifyTeeEvidence(bare, {}, { now: NOW_TDX }))).toBe(
      "ATTESTATION_TCB_STATUS_NOT_ALLOWED",
    );
    expect(
      verifyTeeEvidence(
        bare,
        { tdx: { requireCollateral: false, allowedTcbStatuses: ["Unknown"] } },
        { now: NOW_TDX, ecdsa: nodeEcdsaVerifier },
      ).tcbStatus,
    ).toBe("Unknown");
  });
  it("checks the binding: the nonce must bind the agent, the report data the run", () => {
    // the public vectors were not made by ChaosCore: they bind none of our runs
    const binding = {
      agent: AGENT,
      reportData: `0x${"00".repeat(32)}` as Hex,
      nonce: agentBoundNonce(AGENT),
    };
    expect(codeOf(() => verifyTeeEvidence(nitro, {}, { now: NOW_NITRO, binding }))).toBe(
      "ATTESTATION_REPORT_DATA_MISMATCH",
    );
    expect(
      codeOf(() =>
        verifyTeeEvidence(
          nitro,
          {},
          { now: NOW_NITRO, binding: { ...binding, nonce: `0x${"01".repeat(32)}` } },
        ),
      ),
    ).toBe("ATTESTATION_AGENT_MISMATCH");
    expect(
      codeOf(() =>
        verifyTeeEvidence(
          tdx,
          { tdx: { allowedTcbStatuses: ["NotSupported", "UpToDate"] } },
          { now: NOW_TDX, binding },
        ),
      ),
    ).toBe("ATTESTATION_REPORT_DATA_MISMATCH");
  });
  it("refuses malformed evidence with ATTESTATION_EVIDENCE_MALFORMED", () => {
    expect(
      codeOf(() =>
        parseTeeEvidence({ format: "chaoscore.tee-evidence/v1", platform: "amd-sev-snp" }),
      ),
    ).toBe("ATTESTATION_EVIDENCE_MALFORMED");
    expect(
      codeOf(() => verifyTeeEvidence({ ...nitro, document: "!!" }, {}, { now: NOW_NITRO })),
    ).toBe("ATTESTATION_EVIDENCE_MALFORMED");
    expect(bytesToHex(new Uint8Array([1]))).toBe("0x01");
  });
});

describe("carried AMD SEV-SNP evidence", () => {
  const pem = file("snp/ask_ark_milan.pem").toString();
  const [ask, ark] = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([^-]+)-----END/g)].map(
    (m) => new Uint8Array(Buffer.from((m[1] as string).replace(/\s/g, ""), "base64")),
  ) as [Uint8Array, Uint8Array];
  const snp = snpEvidence(new Uint8Array(file("snp/attestation.bin")), [
    new Uint8Array(file("snp/vcek.der")),
    ask,
    ark,
  ]);
  const NOW_SNP = 1663981200;

  it("verifies under the policy's snp member and reports measurement, host data and TCB", () => {
    const v = verifyTeeEvidence(
      snp,
      parseAttestationPolicy({ snp: { allowDebug: true, minimumTcb: { microcode: 68 } } }),
      { now: NOW_SNP, ecdsa: nodeEcdsaVerifier },
    );
    expect(v).toMatchObject({
      platform: "amd-sev-snp",
      tcbStatus: "n/a",
      tcb: { bootLoader: 2, tee: 0, snp: 5, microcode: 68 },
      timestamp: null,
    });
    expect(Object.keys(v.measurements)).toEqual(["measurement", "hostData"]);
  });

  it("refuses what the policy refuses, each with its code", () => {
    const run = (policy: unknown) => () =>
      verifyTeeEvidence(snp, parseAttestationPolicy(policy), { now: NOW_SNP });
    expect(codeOf(run({}))).toBe("ATTESTATION_DEBUG_NOT_ALLOWED");
    expect(codeOf(run({ platforms: ["intel-tdx"] }))).toBe("ATTESTATION_MEASUREMENT_NOT_ALLOWED");
    expect(codeOf(run({ snp: { allowDebug: true, minimumTcb: { snp: 6 } } }))).toBe(
      "ATTESTATION_TCB_STATUS_NOT_ALLOWED",
    );
    expect(codeOf(() => parseAttestationPolicy({ snp: { minimumTcb: { fmc: 1 } } }))).toBe(
      "INVALID_INPUT",
    );
    expect(codeOf(() => parseTeeEvidence({ ...snp, certificates: [] }))).toBe(
      "ATTESTATION_EVIDENCE_MALFORMED",
    );
  });
});
