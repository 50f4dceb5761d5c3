/**
 * Evidence providers for real TEEs, used from inside one: AWS Nitro Enclaves
 * through the Nitro Security Module, Intel TDX and AMD SEV-SNP through the
 * Linux configfs-tsm report interface
 * (Documentation/ABI/testing/configfs-tsm). Both bind the run as
 * docs/spec/attestation.md §9 says.
 *
 * UNTESTED ON HARDWARE: the tests run them against a stand-in NSM device and a
 * stand-in configfs directory that replay the public vectors.
 *
 * @module
 */
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ChaosCoreError,
  decodeCbor,
  encodeCbor,
  type Hex,
  hexToBytes,
  parseNitroDocument,
  parseSnpCertificateTable,
  parseSnpReport,
  parseTdxQuote,
  snpEvidence,
  type TeeEvidence,
  tdxReportData,
  toTeeEvidence,
} from "@chaoscore/core";

/** Produces real evidence binding `reportData` and `nonce` (attestation.md §9). */
export interface TeeEvidenceProvider {
  readonly platform: "aws-nitro" | "intel-tdx" | "amd-sev-snp";
  attest(reportData: Hex, nonce: Hex): Promise<TeeEvidence>;
}

/**
 * The NSM device: one request/response exchange of CBOR messages (the
 * `/dev/nsm` ioctl of aws-nitro-enclaves-nsm-api). Node cannot issue that
 * ioctl itself; in an enclave, implement this with a small native helper (or
 * the NSM library through FFI). Tests use a stand-in.
 */
export interface NsmDevice {
  request(message: Uint8Array): Promise<Uint8Array>;
}

function providerFailure(message: string, cause?: unknown): ChaosCoreError {
  return new ChaosCoreError(
    "EXECUTION_SANDBOX_FAILURE",
    message,
    cause === undefined ? {} : { cause },
  );
}

/**
 * Nitro: asks the NSM for an attestation document with `user_data` =
 * reportData and `nonce` = nonce (request `{"Attestation": {user_data, nonce,
 * public_key: null}}`, response `{"Attestation": {document}}`).
 *
 * @throws ChaosCoreError EXECUTION_SANDBOX_FAILURE when the device fails or answers
 *   something else; ATTESTATION_EVIDENCE_MALFORMED when the document is malformed.
 */
export function nitroNsmProvider(device: NsmDevice): TeeEvidenceProvider {
  return {
    platform: "aws-nitro",
    async attest(reportData, nonce) {
      const request = encodeCbor({
        Attestation: {
          user_data: hexToBytes(reportData),
          nonce: hexToBytes(nonce),
          public_key: null,
        },
      });
      let answer: unknown;
      try {
        answer = decodeCbor(await device.request(request));
      } catch (cause) {
        throw providerFailure(
          "the NSM device failed or answered something that is not CBOR",
          cause,
        );
      }
      const inner = answer instanceof Map ? answer.get("Attestation") : undefined;
      const document = inner instanceof Map ? inner.get("document") : undefined;
      if (!(document instanceof Uint8Array)) {
        throw providerFailure("the NSM device did not answer an attestation document", answer);
      }
      parseNitroDocument(document);
      return toTeeEvidence("aws-nitro", document);
    },
  };
}

/**
 * configfs-tsm (Linux ≥ 6.7): creates `<root>/<entry>/`, writes REPORTDATA
 * (reportData ‖ SHA-256(nonce), 64 bytes) to `inblob`, reads `outblob` (the
 * quote or report) and checks that `generation` did not move between the write
 * and the read (another writer would make the quote someone else's), then
 * removes the entry. `root` defaults to /sys/kernel/config/tsm/report.
 * `platform` "intel-tdx" (default; `provider` must read `tdx_guest`; the
 * collateral is fetched by the verifier's side) or "amd-sev-snp" (`provider`
 * must read `sev_guest`; the VCEK, ASK and ARK are read from `auxblob`, the
 * extended report's certificate table). The evidence carries `nonce`, which
 * the quote or report holds only as its SHA-256.
 *
 * @throws ChaosCoreError EXECUTION_SANDBOX_FAILURE when the interface fails,
 *   another TEE provides it, or the generation moved; ATTESTATION_* when the
 *   quote, report or certificate table is malformed.
 */
export function configfsTsmProvider(
  options: { root?: string; entryName?: () => string; platform?: "intel-tdx" | "amd-sev-snp" } = {},
): TeeEvidenceProvider {
  const root = options.root ?? "/sys/kernel/config/tsm/report";
  const entryName = options.entryName ?? (() => `chaoscore-${process.pid}-${Date.now()}`);
  const platform = options.platform ?? "intel-tdx";
  const expected = platform === "intel-tdx" ? "tdx_guest" : "sev_guest";
  return {
    platform,
    async attest(reportData, nonce) {
      const dir = join(root, entryName());
      // TDX REPORTDATA and SNP REPORT_DATA bind the run alike (attestation.md §9, §12)
      const inblob = hexToBytes(tdxReportData(reportData, nonce));
      try {
        await mkdir(dir, { recursive: false }).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== "EEXIST") throw e;
        });
        const provider = (await readFile(join(dir, "provider"), "utf8")).trim();
        if (provider !== expected)
          throw providerFailure(`configfs-tsm is provided by ${provider}, not ${expected}`);
        await writeFile(join(dir, "inblob"), inblob);
        const before = (await readFile(join(dir, "generation"), "utf8")).trim();
        const blob = new Uint8Array(await readFile(join(dir, "outblob")));
        const aux =
          platform === "amd-sev-snp"
            ? new Uint8Array(await readFile(join(dir, "auxblob")))
            : undefined;
        const after = (await readFile(join(dir, "generation"), "utf8")).trim();
        if (before !== after)
          throw providerFailure("configfs-tsm: another writer changed the report entry");
        if (aux !== undefined) {
          parseSnpReport(blob);
          return snpEvidence(blob, parseSnpCertificateTable(aux), nonce);
        }
        parseTdxQuote(blob);
        return toTeeEvidence("intel-tdx", blob, undefined, nonce);
      } catch (error) {
        if (error instanceof ChaosCoreError) throw error;
        throw providerFailure("the configfs-tsm report interface failed", error);
      } finally {
        await rmdir(dir).catch(() => undefined);
      }
    },
  };
}
