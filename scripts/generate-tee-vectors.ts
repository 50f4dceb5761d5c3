/**
 * Writes vectors/attestation/{nitro,tdx,snp}.json from the real evidence files in
 * vectors/attestation/ (see its README for their sources): the real evidence
 * that must verify at its fixed `now`, and tampered or mis-configured copies,
 * each with the error code it must fail with. Deterministic; run with
 * `npx tsx scripts/generate-tee-vectors.ts`. The TypeScript and Python
 * verifiers are tested against the JSON, not against this script.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decode, encode } from "cborg";
import { generateSnpVectors } from "./generate-snp-vectors.js";
import { generateTdxVectors } from "./generate-tdx-vectors.js";

const DIR = join(import.meta.dirname, "..", "vectors", "attestation");
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;

/** A copy of `data` with the byte at `offset` XOR 0x01. */
export function flip(data: Uint8Array, offset: number): Uint8Array {
  const out = Uint8Array.from(data);
  if (offset < 0 || offset >= out.length) throw new Error(`offset ${offset} out of range`);
  out[offset] = (out[offset] as number) ^ 0x01;
  return out;
}

/** Offset of the first occurrence of `needle` in `hay` (throws when absent). */
export function find(hay: Uint8Array, needle: Uint8Array): number {
  const at = Buffer.from(hay).indexOf(Buffer.from(needle));
  if (at < 0) throw new Error("needle not found");
  return at;
}

type NitroSource = { file: string; now: number };
const SOURCES: NitroSource[] = [
  // the checkDate of cape-js's tests: the document's timestamp is 2022-09-15T17:43:28.848Z
  { file: "nitro/cape-2022-09-15.cbor", now: 1663263864 },
  // keyCheckDate of cape-js's tests: the document's timestamp is 2022-09-28T15:33:27.680Z
  { file: "nitro/cape-2022-09-28.cbor", now: 1664379240 },
];

function nitroVectors() {
  const cases: Record<string, unknown>[] = [];
  for (const [n, source] of SOURCES.entries()) {
    const doc = new Uint8Array(readFileSync(join(DIR, source.file)));
    const cose = decode(doc, { useMaps: true }) as [
      Uint8Array,
      Map<unknown, unknown>,
      Uint8Array,
      Uint8Array,
    ];
    const payload = decode(cose[2], { useMaps: true }) as Map<string, unknown>;
    const pcrs = payload.get("pcrs") as Map<number, Uint8Array>;
    const policy = {
      allowedPcrs: {
        "0": [hex(pcrs.get(0) as Uint8Array)],
        "1": [hex(pcrs.get(1) as Uint8Array)],
        "2": [hex(pcrs.get(2) as Uint8Array)],
      },
      maxAgeSeconds: 300,
      expectedUserData: hex(payload.get("user_data") as Uint8Array),
      expectedNonce: hex(payload.get("nonce") as Uint8Array),
    };
    cases.push({
      name: `valid-${n}`,
      description: `the real document ${source.file}, verified at its fixed now`,
      evidence: source.file,
      now: source.now,
      policy,
      expected: {
        ok: true,
        timestamp: Math.floor((payload.get("timestamp") as number) / 1000),
        moduleId: payload.get("module_id"),
        pcr0: hex(pcrs.get(0) as Uint8Array),
        rootFingerprint: "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b",
      },
    });
    if (n > 0) continue;
    const cabundle = payload.get("cabundle") as Uint8Array[];
    const leaf = payload.get("certificate") as Uint8Array;
    const bad = (
      name: string,
      description: string,
      evidence: Uint8Array,
      error: string,
      over: Record<string, unknown> = {},
    ) =>
      cases.push({
        name,
        description,
        evidenceBase64: b64(evidence),
        now: source.now,
        policy: { ...policy, ...over },
        expected: { error },
      });
    const withPayload = (edit: (p: Map<string, unknown>) => void) => {
      const p = new Map(payload);
      edit(p);
      return encode([cose[0], cose[1], encode(p), cose[3]]);
    };
    bad(
      "tampered-signature",
      "one flipped byte in the COSE signature",
      flip(doc, doc.length - 1),
      "ATTESTATION_NITRO_SIGNATURE_INVALID",
    );
    bad(
      "tampered-pcr0",
      "one flipped byte in PCR0",
      flip(doc, find(doc, pcrs.get(0) as Uint8Array) + 10),
      "ATTESTATION_NITRO_SIGNATURE_INVALID",
    );
    bad(
      "tampered-user-data",
      "one flipped byte in user_data",
      flip(doc, find(doc, payload.get("user_data") as Uint8Array) + 5),
      "ATTESTATION_NITRO_SIGNATURE_INVALID",
    );
    bad(
      "tampered-nonce",
      "one flipped byte in nonce",
      flip(doc, find(doc, payload.get("nonce") as Uint8Array)),
      "ATTESTATION_NITRO_SIGNATURE_INVALID",
    );
    bad(
      "tampered-timestamp",
      "one flipped bit in the timestamp",
      flip(doc, find(doc, new TextEncoder().encode("timestamp")) + 17),
      "ATTESTATION_NITRO_SIGNATURE_INVALID",
    );
    // the leaf's own signature sits in its last bytes
    bad(
      "tampered-leaf-certificate",
      "one flipped byte in the leaf certificate's signature",
      flip(doc, find(doc, leaf) + leaf.length - 3),
      "ATTESTATION_CHAIN_INVALID",
    );
    const mid = cabundle[2] as Uint8Array;
    bad(
      "tampered-intermediate-certificate",
      "one flipped byte in an intermediate certificate's key",
      flip(doc, find(doc, mid) + 300),
      "ATTESTATION_CHAIN_INVALID",
    );
    const root = cabundle[0] as Uint8Array;
    bad(
      "tampered-root-certificate",
      "one flipped byte in the root certificate's signature (its fingerprint changes)",
      flip(doc, find(doc, root) + root.length - 5),
      "ATTESTATION_ROOT_UNTRUSTED",
    );
    bad(
      "chain-ends-elsewhere",
      "the root removed from cabundle: the path ends at an intermediate",
      withPayload((p) => p.set("cabundle", cabundle.slice(1))),
      "ATTESTATION_ROOT_UNTRUSTED",
    );
    bad(
      "untrusted-root-policy",
      "the policy trusts another root only",
      doc,
      "ATTESTATION_ROOT_UNTRUSTED",
      { trustedRootFingerprints: ["00".repeat(32)] },
    );
    cases.push({
      name: "expired-certificate",
      description: "verified a day later: the leaf certificate (3 hours) has expired",
      evidence: source.file,
      now: source.now + 86400,
      policy: { ...policy, maxAgeSeconds: undefined },
      expected: { error: "ATTESTATION_CERT_EXPIRED" },
    });
    cases.push({
      name: "stale",
      description: "verified an hour later with a 5-minute maximum age",
      evidence: source.file,
      now: source.now + 3600,
      policy,
      expected: { error: "ATTESTATION_STALE" },
    });
    bad(
      "pcr-not-allowed",
      "the policy allows another PCR0",
      doc,
      "ATTESTATION_MEASUREMENT_NOT_ALLOWED",
      { allowedPcrs: { "0": [`0x${"00".repeat(48)}`] } },
    );
    bad(
      "user-data-mismatch",
      "the policy expects other user_data",
      doc,
      "ATTESTATION_REPORT_DATA_MISMATCH",
      { expectedUserData: `0x${"11".repeat(32)}` },
    );
    bad(
      "nonce-mismatch",
      "the policy expects another nonce",
      doc,
      "ATTESTATION_REPORT_DATA_MISMATCH",
      { expectedNonce: `0x${"22".repeat(12)}` },
    );
    bad(
      "truncated",
      "the first 1000 bytes only",
      doc.subarray(0, 1000),
      "ATTESTATION_EVIDENCE_MALFORMED",
    );
    bad(
      "trailing-bytes",
      "one byte appended",
      Uint8Array.from([...doc, 0]),
      "ATTESTATION_EVIDENCE_MALFORMED",
    );
    bad(
      "not-cose",
      "a CBOR map instead of the COSE array",
      encode(new Map([["a", 1]])),
      "ATTESTATION_EVIDENCE_MALFORMED",
    );
    // protected header {1: -35} is a1 01 38 22; {1: -36} (ES512) is a1 01 38 23
    bad(
      "wrong-algorithm",
      "the protected header says ES512 (-36)",
      flip(doc, find(doc, Uint8Array.from([0xa1, 0x01, 0x38, 0x22])) + 3),
      "ATTESTATION_ALGORITHM_UNSUPPORTED",
    );
    bad(
      "missing-field",
      "the payload without module_id (re-encoded)",
      withPayload((p) => p.delete("module_id")),
      "ATTESTATION_EVIDENCE_MALFORMED",
    );
    bad(
      "unknown-field",
      "the payload with an extra field (re-encoded)",
      withPayload((p) => p.set("extra", 1)),
      "ATTESTATION_EVIDENCE_MALFORMED",
    );
  }
  return {
    description:
      "AWS Nitro Enclaves attestation documents (real, from capeprivacy/cape-js, Apache-2.0: see README.md) and tampered copies. `evidence` names a file of this folder; `evidenceBase64` is the document itself. Verify each with its `now` (unix seconds) and `policy`; `expected` is the result or the error code.",
    format: "chaoscore.tee-vectors/v1",
    platform: "aws-nitro",
    cases,
  };
}

writeFileSync(join(DIR, "nitro.json"), `${JSON.stringify(nitroVectors(), null, 2)}\n`);
writeFileSync(join(DIR, "tdx.json"), `${JSON.stringify(generateTdxVectors(DIR), null, 2)}\n`);
writeFileSync(join(DIR, "snp.json"), `${JSON.stringify(generateSnpVectors(DIR), null, 2)}\n`);
