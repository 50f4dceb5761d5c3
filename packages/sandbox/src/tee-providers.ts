/**
 * Evidence providers for real TEEs, used from inside one: AWS Nitro Enclaves
 * through the Nitro Security Module, Intel TDX (and any TEE the kernel
 * exposes there) through the Linux configfs-tsm report interface
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
  parseTdxQuote,
  type TeeEvidence,
  tdxReportData,
  toTeeEvidence,
} from "@chaoscore/core";

/** Produces real evidence binding `reportData` and `nonce` (attestation.md §9). */
export interface TeeEvidenceProvider {
  readonly platform: "aws-nitro" | "intel-tdx";
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
 * quote) and checks that `generation` did not move between the write and the
 * read (another writer would make the quote someone else's), then removes the
 * entry. `root` defaults to /sys/kernel/config/tsm/report. TDX quotes only
 * (`provider` must read `tdx_guest`); the collateral is fetched by the
 * verifier's side, not here.
 *
 * @throws ChaosCoreError EXECUTION_SANDBOX_FAILURE when the interface fails,
 *   another TEE provides it, or the generation moved; ATTESTATION_* when the
 *   quote is malformed.
 */
export function configfsTsmProvider(
  options: { root?: string; entryName?: () => string } = {},
): TeeEvidenceProvider {
  const root = options.root ?? "/sys/kernel/config/tsm/report";
  const entryName = options.entryName ?? (() => `chaoscore-${process.pid}-${Date.now()}`);
  return {
    platform: "intel-tdx",
    async attest(reportData, nonce) {
      const dir = join(root, entryName());
      const inblob = hexToBytes(tdxReportData(reportData, nonce));
      try {
        await mkdir(dir, { recursive: false }).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== "EEXIST") throw e;
        });
        const provider = (await readFile(join(dir, "provider"), "utf8")).trim();
        if (provider !== "tdx_guest")
          throw providerFailure(`configfs-tsm is provided by ${provider}, not tdx_guest`);
        await writeFile(join(dir, "inblob"), inblob);
        const before = (await readFile(join(dir, "generation"), "utf8")).trim();
        const quote = new Uint8Array(await readFile(join(dir, "outblob")));
        const after = (await readFile(join(dir, "generation"), "utf8")).trim();
        if (before !== after)
          throw providerFailure("configfs-tsm: another writer changed the report entry");
        parseTdxQuote(quote);
        return toTeeEvidence("intel-tdx", quote);
      } catch (error) {
        if (error instanceof ChaosCoreError) throw error;
        throw providerFailure("the configfs-tsm report interface failed", error);
      } finally {
        await rmdir(dir).catch(() => undefined);
      }
    },
  };
}
