import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  agentBoundNonce,
  decodeCbor,
  encodeCbor,
  encodeSnpCertificateTable,
  type Hex,
  isChaosCoreError,
  sha256Hex,
  tdxReportData,
  verifyTeeEvidence,
} from "@chaoscore/core";
import { afterAll, describe, expect, it } from "vitest";
import { configfsTsmProvider, type NsmDevice, nitroNsmProvider } from "./tee-providers.js";

const VECTORS = join(import.meta.dirname, "..", "..", "..", "vectors", "attestation");
const NITRO_DOC = new Uint8Array(readFileSync(join(VECTORS, "nitro", "cape-2022-09-15.cbor")));
const TDX_QUOTE = new Uint8Array(readFileSync(join(VECTORS, "tdx", "spr-e4-quote-v4.dat")));
const AGENT = "0x1111111111111111111111111111111111111111" as const;
const reportData = sha256Hex("a run") as Hex;
const nonce = agentBoundNonce(AGENT, new Uint8Array(16).fill(9));

describe("nitroNsmProvider (stand-in NSM device replaying the public vector; untested on hardware)", () => {
  it("asks the NSM for a document with user_data = reportData and nonce, and returns it as evidence", async () => {
    const requests: unknown[] = [];
    const device: NsmDevice = {
      async request(message) {
        requests.push(decodeCbor(message));
        return encodeCbor(new Map([["Attestation", new Map([["document", NITRO_DOC]])]]));
      },
    };
    const evidence = await nitroNsmProvider(device).attest(reportData, nonce);
    const sent = (requests[0] as Map<string, Map<string, unknown>>).get("Attestation");
    expect(Buffer.from(sent?.get("user_data") as Uint8Array).toString("hex")).toBe(
      reportData.slice(2),
    );
    expect(Buffer.from(sent?.get("nonce") as Uint8Array).toString("hex")).toBe(nonce.slice(2));
    expect(sent?.get("public_key")).toBeNull();
    expect(evidence.platform).toBe("aws-nitro");
    // the replayed document verifies, but binds the vector's run, not ours
    expect(verifyTeeEvidence(evidence, {}, { now: 1663263864 }).platform).toBe("aws-nitro");
    expect(() =>
      verifyTeeEvidence(
        evidence,
        {},
        { now: 1663263864, binding: { agent: AGENT, reportData, nonce } },
      ),
    ).toThrow(expect.objectContaining({ code: "ATTESTATION_REPORT_DATA_MISMATCH" }));
  });
  it("a failing device or another answer is EXECUTION_SANDBOX_FAILURE", async () => {
    const broken = nitroNsmProvider({ request: async () => Promise.reject(new Error("EIO")) });
    await expect(broken.attest(reportData, nonce)).rejects.toMatchObject({
      code: "EXECUTION_SANDBOX_FAILURE",
    });
    const odd = nitroNsmProvider({ request: async () => encodeCbor({ Error: "InvalidArgument" }) });
    await expect(odd.attest(reportData, nonce)).rejects.toMatchObject({
      code: "EXECUTION_SANDBOX_FAILURE",
    });
  });
});

describe("configfsTsmProvider (stand-in configfs directory replaying the public vector; untested on hardware)", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  async function standIn(provider = "tdx_guest") {
    const root = await mkdtemp(join(tmpdir(), "h8-tsm-"));
    dirs.push(root);
    const entry = join(root, "e1");
    await mkdir(entry);
    await writeFile(join(entry, "provider"), `${provider}\n`);
    await writeFile(join(entry, "generation"), "1\n");
    await writeFile(join(entry, "outblob"), TDX_QUOTE);
    return { root, entry };
  }
  it("writes REPORTDATA = reportData ‖ SHA-256(nonce) to inblob and returns outblob as evidence", async () => {
    const { root, entry } = await standIn();
    const evidence = await configfsTsmProvider({ root, entryName: () => "e1" }).attest(
      reportData,
      nonce,
    );
    const inblob = new Uint8Array(await readFile(join(entry, "inblob")));
    expect(`0x${Buffer.from(inblob).toString("hex")}`).toBe(tdxReportData(reportData, nonce));
    expect(evidence).toMatchObject({ platform: "intel-tdx", nonce }); // the receipt verifier's binding
    const verified = verifyTeeEvidence(
      evidence,
      { tdx: { requireCollateral: false, allowedTcbStatuses: ["Unknown"] } },
      { now: 1688173200 },
    );
    expect(verified.tcbStatus).toBe("Unknown");
  });
  it("SEV-SNP: writes REPORT_DATA, returns the report with the auxblob's VCEK, ASK and ARK and the nonce", async () => {
    const { root, entry } = await standIn("sev_guest");
    const SNP = join(VECTORS, "snp");
    const [ask, ark] = [
      ...readFileSync(join(SNP, "ask_ark_milan.pem"), "utf8").matchAll(
        /-----BEGIN CERTIFICATE-----([^-]+)-----END/g,
      ),
    ].map((m) => new Uint8Array(Buffer.from((m[1] as string).replace(/\s/g, ""), "base64"))) as [
      Uint8Array,
      Uint8Array,
    ];
    const vcek = new Uint8Array(readFileSync(join(SNP, "vcek.der")));
    await writeFile(join(entry, "outblob"), readFileSync(join(SNP, "attestation.bin")));
    await writeFile(join(entry, "auxblob"), encodeSnpCertificateTable({ vcek, ask, ark }));
    const evidence = await configfsTsmProvider({
      root,
      entryName: () => "e1",
      platform: "amd-sev-snp",
    }).attest(reportData, nonce);
    const inblob = new Uint8Array(await readFile(join(entry, "inblob")));
    expect(`0x${Buffer.from(inblob).toString("hex")}`).toBe(tdxReportData(reportData, nonce));
    expect(evidence).toMatchObject({ platform: "amd-sev-snp", nonce });
    const verified = verifyTeeEvidence(
      evidence,
      { snp: { allowDebug: true } },
      { now: 1663981200 },
    );
    expect(verified.tcb).toEqual({ bootLoader: 2, tee: 0, snp: 5, microcode: 68 });
    // a table without the ARK is refused with a coded error
    await writeFile(
      join(entry, "auxblob"),
      encodeSnpCertificateTable({ vcek, ask, ark }).subarray(0, 48),
    );
    const error = await configfsTsmProvider({
      root,
      entryName: () => "e1",
      platform: "amd-sev-snp",
    })
      .attest(reportData, nonce)
      .catch((e: unknown) => e);
    expect(isChaosCoreError(error, "ATTESTATION_EVIDENCE_MALFORMED")).toBe(true);
  });
  it("refuses another TEE's configfs-tsm with EXECUTION_SANDBOX_FAILURE", async () => {
    const { root } = await standIn("sev_guest");
    const error = await configfsTsmProvider({ root, entryName: () => "e1" })
      .attest(reportData, nonce)
      .catch((e: unknown) => e);
    expect(isChaosCoreError(error, "EXECUTION_SANDBOX_FAILURE")).toBe(true);
  });
});
