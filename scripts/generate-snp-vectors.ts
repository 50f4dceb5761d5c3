/**
 * vectors/attestation/snp.json: the real AMD SEV-SNP report of
 * google/go-sev-guest (snp/attestation.bin, its VCEK snp/vcek.der and the
 * Milan ASK/ARK of snp/ask_ark_milan.pem; see the README) at its fixed `now`,
 * and tampered or mis-configured copies, each with the code it must fail with.
 * Every expected result is checked against the TypeScript verifier here (the
 * script stops on a mismatch). Called by generate-tee-vectors.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  AMD_ARK_GENOA_SHA256,
  isChaosCoreError,
  type SnpPolicy,
  verifySnpReport,
} from "@chaoscore/core";

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;
const flip = (data: Uint8Array, offset: number): Uint8Array => {
  const out = Uint8Array.from(data);
  out[offset] = (out[offset] as number) ^ 0x01;
  return out;
};
const set = (data: Uint8Array, offset: number, value: number): Uint8Array => {
  const out = Uint8Array.from(data);
  out[offset] = value;
  return out;
};

/** The DER certificates of a PEM file, in order. */
export function pemToDer(pem: string): Uint8Array[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g)].map(
    (m) => new Uint8Array(Buffer.from((m[1] as string).replace(/\s/g, ""), "base64")),
  );
}

/** go-sev-guest verifies its VCEK at 2022-09-24T01:00:00Z (verify_test.go TestVerifyVcekCert). */
const NOW = 1663981200;

export function generateSnpVectors(dir: string) {
  const report = new Uint8Array(readFileSync(join(dir, "snp/attestation.bin")));
  const vcek = new Uint8Array(readFileSync(join(dir, "snp/vcek.der")));
  const [ask, ark] = pemToDer(readFileSync(join(dir, "snp/ask_ark_milan.pem"), "utf8")) as [
    Uint8Array,
    Uint8Array,
  ];
  const measurement = hex(report.subarray(0x90, 0xc0));
  const policy = {
    // the report's guest policy has DEBUG set (0xb0000): a real test VM; see the README
    allowDebug: true,
    allowedMeasurements: [measurement],
    minimumTcb: { bootLoader: 2, tee: 0, snp: 5, microcode: 68 },
    expectedReportData: hex(report.subarray(0x50, 0x90)),
  };
  const cases: Record<string, unknown>[] = [];
  const add = (
    name: string,
    description: string,
    opts: {
      report?: Uint8Array;
      certs?: Uint8Array[];
      now?: number;
      policy?: Record<string, unknown>;
      expected: Record<string, unknown>;
    },
  ) => {
    const r = opts.report ?? report;
    const certs = opts.certs ?? [vcek, ask, ark];
    const now = opts.now ?? NOW;
    const p = opts.policy ?? policy;
    let got: Record<string, unknown>;
    try {
      const v = verifySnpReport(r, certs as [Uint8Array, Uint8Array, Uint8Array], {
        ...(p as Omit<SnpPolicy, "now">),
        now,
      });
      got = {
        ok: true,
        version: v.report.version,
        measurement: v.report.measurement,
        reportedTcb: v.report.reportedTcb,
        rootFingerprint: v.rootFingerprint,
      };
    } catch (error) {
      if (!isChaosCoreError(error)) throw error;
      got = { error: error.code };
    }
    if (JSON.stringify(got) !== JSON.stringify(opts.expected)) {
      throw new Error(
        `snp case ${name}: expected ${JSON.stringify(opts.expected)}, got ${JSON.stringify(got)}`,
      );
    }
    cases.push({
      name,
      description,
      ...(r === report ? { report: "snp/attestation.bin" } : { reportBase64: b64(r) }),
      certificatesBase64: certs.map(b64),
      now,
      policy: p,
      expected: opts.expected,
    });
  };
  const err = (code: string) => ({ error: `ATTESTATION_${code}` });
  add(
    "valid",
    "the real report (version 2, Milan, debug guest) with its VCEK, ASK and ARK at 2022-09-24T01:00:00Z, measurement and TCB pinned",
    {
      expected: {
        ok: true,
        version: 2,
        measurement,
        reportedTcb: { bootLoader: 2, tee: 0, snp: 5, microcode: 68 },
        rootFingerprint: "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
      },
    },
  );
  add(
    "debug-default-policy",
    "the same under the default policy: the guest policy allows debugging",
    {
      policy: {},
      expected: err("DEBUG_NOT_ALLOWED"),
    },
  );
  const signed: [string, number, string][] = [
    ["measurement", 0x90, "MEASUREMENT"],
    ["report-data", 0x50, "REPORT_DATA"],
    ["policy", 0x08, "the guest POLICY"],
    ["host-data", 0xc0, "HOST_DATA"],
    ["signature-r", 0x2a0, "the signature's r"],
    ["signature-s", 0x2a0 + 72, "the signature's s"],
  ];
  for (const [name, at, what] of signed) {
    add(`tampered-${name}`, `one flipped byte in ${what}`, {
      report: flip(report, at),
      expected: err("SNP_REPORT_SIGNATURE_INVALID"),
    });
  }
  add("tampered-chip-id", "one flipped byte in CHIP_ID: the VCEK is another chip's", {
    report: flip(report, 0x1a0),
    expected: err("SNP_VCEK_MISMATCH"),
  });
  add(
    "tampered-reported-tcb",
    "REPORTED_TCB's boot loader SPL changed: the VCEK is for another TCB",
    {
      report: flip(report, 0x180),
      expected: err("SNP_VCEK_MISMATCH"),
    },
  );
  add("tampered-vcek-signature", "one flipped byte in the VCEK's RSASSA-PSS signature", {
    certs: [flip(vcek, vcek.length - 10), ask, ark],
    expected: err("CHAIN_INVALID"),
  });
  add("tampered-vcek-key", "one flipped byte in the VCEK's public key", {
    certs: [flip(vcek, Buffer.from(vcek).indexOf(Buffer.from([0x00, 0x04]), 300) + 20), ask, ark],
    expected: err("CHAIN_INVALID"),
  });
  add("tampered-ask-signature", "one flipped byte in the ASK's signature", {
    certs: [vcek, flip(ask, ask.length - 10), ark],
    expected: err("CHAIN_INVALID"),
  });
  add("wrong-order", "the certificates in another order (ASK, VCEK, ARK)", {
    certs: [ask, vcek, ark],
    expected: err("CHAIN_INVALID"),
  });
  add("chain-ends-elsewhere", "only AMD's Genoa root is trusted: the chain ends at the Milan ARK", {
    policy: { ...policy, trustedRootFingerprints: [AMD_ARK_GENOA_SHA256] },
    expected: err("ROOT_UNTRUSTED"),
  });
  add("vcek-truncated", "a VCEK cut short", {
    certs: [vcek.subarray(0, 700), ask, ark],
    expected: err("CHAIN_INVALID"),
  });
  add("expired", "verified in 2030: the VCEK (2022-09-24 … 2029-09-24) has expired", {
    now: 1893456000,
    expected: err("CERT_EXPIRED"),
  });
  add("not-yet-valid", "verified on 2022-09-01, before the VCEK was issued", {
    now: 1661990400,
    expected: err("CERT_EXPIRED"),
  });
  add("measurement-not-allowed", "a policy pinning another MEASUREMENT", {
    policy: { ...policy, allowedMeasurements: [`0x${"00".repeat(48)}`] },
    expected: err("MEASUREMENT_NOT_ALLOWED"),
  });
  add("tcb-below-minimum", "a policy requiring microcode SPL 200", {
    policy: { ...policy, minimumTcb: { microcode: 200 } },
    expected: err("TCB_STATUS_NOT_ALLOWED"),
  });
  add("report-data-mismatch", "a policy expecting other REPORT_DATA", {
    policy: { ...policy, expectedReportData: `0x${"00".repeat(64)}` },
    expected: err("REPORT_DATA_MISMATCH"),
  });
  add("truncated", "the first 1000 bytes of the report", {
    report: report.subarray(0, 1000),
    expected: err("EVIDENCE_MALFORMED"),
  });
  add("trailing-byte", "the report with one byte appended", {
    report: Uint8Array.from([...report, 0]),
    expected: err("EVIDENCE_MALFORMED"),
  });
  add("unknown-version", "VERSION 9", {
    report: set(report, 0, 9),
    expected: err("UNSUPPORTED_QUOTE"),
  });
  add("vlek-signed", "the key-info word says VLEK (SIGNING_KEY 1)", {
    report: set(report, 0x48, 0x04),
    expected: err("UNSUPPORTED_QUOTE"),
  });
  add("other-algorithm", "SIGNATURE_ALGO 2", {
    report: set(report, 0x34, 2),
    expected: err("ALGORITHM_UNSUPPORTED"),
  });
  add("signature-padding", "a non-zero byte in the padding of r (bytes 48–71)", {
    report: set(report, 0x2a0 + 60, 1),
    expected: err("EVIDENCE_MALFORMED"),
  });
  return {
    description:
      "AMD SEV-SNP attestation report cases: the real report of google/go-sev-guest and tampered copies (docs/spec/attestation.md §12)",
    format: "chaoscore.tee-vectors/v1",
    platform: "amd-sev-snp",
    cases,
  };
}
