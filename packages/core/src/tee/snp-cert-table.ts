/**
 * The certificate table an SEV-SNP guest receives with an extended report
 * (AMD GHCB specification, "SNP Extended Guest Request"; Linux configfs-tsm
 * `auxblob` for the sev_guest provider): entries of { GUID (16 bytes, in the
 * byte order of its text form), offset (u32 LE), length (u32 LE) }, ended by
 * an all-zero entry; offsets count from the table's start.
 * @module
 */
import { ChaosCoreError } from "../errors.js";

/** The GUIDs of AMD's certificates in the table. */
export const SNP_CERT_GUIDS = {
  vcek: "63da758de6644564adc5f4b93be8accd",
  ask: "4ab7b379bbac4fe4a02f05aef327c782",
  ark: "c0b406a4a803495297433fb6014cd0ae",
} as const;

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/**
 * Reads [VCEK, ASK, ARK] (DER) from a certificate table.
 * @throws ChaosCoreError ATTESTATION_EVIDENCE_MALFORMED when the table is
 *   malformed or lacks one of the three.
 */
export function parseSnpCertificateTable(table: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const bad = (why: string): never => {
    throw new ChaosCoreError("ATTESTATION_EVIDENCE_MALFORMED", `SNP certificate table: ${why}`);
  };
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const found = new Map<string, Uint8Array>();
  for (let at = 0; ; at += 24) {
    if (at + 24 > table.length) bad("no terminating entry");
    const guid = hex(table.subarray(at, at + 16));
    const offset = view.getUint32(at + 16, true);
    const length = view.getUint32(at + 20, true);
    if (/^0+$/.test(guid) && offset === 0 && length === 0) break;
    if (offset < at + 24 || offset + length > table.length) bad("an entry points outside it");
    if (found.has(guid)) bad("a GUID repeats");
    found.set(guid, table.subarray(offset, offset + length));
  }
  const get = (name: keyof typeof SNP_CERT_GUIDS) =>
    found.get(SNP_CERT_GUIDS[name]) ?? bad(`no ${name.toUpperCase()} certificate`);
  return [get("vcek"), get("ask"), get("ark")];
}

/** Builds a certificate table (for stand-ins and tests). */
export function encodeSnpCertificateTable(certs: {
  vcek: Uint8Array;
  ask: Uint8Array;
  ark: Uint8Array;
}): Uint8Array {
  const entries = (["vcek", "ask", "ark"] as const).map(
    (k) => [SNP_CERT_GUIDS[k], certs[k]] as const,
  );
  const header = 24 * (entries.length + 1);
  const out = new Uint8Array(header + entries.reduce((n, [, c]) => n + c.length, 0));
  const view = new DataView(out.buffer);
  let offset = header;
  entries.forEach(([guid, cert], i) => {
    for (let j = 0; j < 16; j++)
      out[24 * i + j] = Number.parseInt(guid.slice(2 * j, 2 * j + 2), 16);
    view.setUint32(24 * i + 16, offset, true);
    view.setUint32(24 * i + 20, cert.length, true);
    out.set(cert, offset);
    offset += cert.length;
  });
  return out;
}
