/**
 * Writes the shard-certificate vectors in vectors/shard-certificates/ (see
 * docs/spec/receipt.md §7.1): certificates that verify under the family key
 * and certificates that fail, each with its code. Deterministic: fixed keys,
 * Ed25519 signatures, so running it again rewrites the same bytes. Read by
 * core's shard-certificate.test.ts and Python's test_shard.py.
 *
 *   npm run vectors:shard-certificates
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  deriveShardKey,
  generateNoteKey,
  isChaosCoreError,
  SHARD_CERTIFICATE_FORMAT,
  signNote,
  signShardCertificate,
  verifyShardCertificate,
} from "@chaoscore/core";

const OUT = join(import.meta.dirname, "..", "vectors", "shard-certificates");
const FAMILY = "vectors.chaoscore.dev/log/shards";
const family = generateNoteKey(FAMILY, new Uint8Array(32).fill(0x51));
const other = generateNoteKey("vectors.chaoscore.dev/log/other", new Uint8Array(32).fill(0x52));
const impostor = generateNoteKey(FAMILY, new Uint8Array(32).fill(0x53));
const shardKey = (n: number, signer = family.signerKey, origin = FAMILY) =>
  deriveShardKey(signer, `${origin}/s${n}`).verifierKey;
const text = (lines: (string | number)[]) => `${lines.join("\n")}\n`;
const statement = (n: number) => [
  SHARD_CERTIFICATE_FORMAT,
  FAMILY,
  n,
  `${FAMILY}/s${n}`,
  shardKey(n),
];

function main() {
  mkdirSync(OUT, { recursive: true });
  for (const f of readdirSync(OUT))
    if (f.endsWith(".json") || f.endsWith(".txt")) rmSync(join(OUT, f));
  writeFileSync(join(OUT, "family-key.txt"), `${family.verifierKey}\n`);
  const write = (name: string, body: Record<string, unknown>) =>
    writeFileSync(join(OUT, `${name}.json`), `${JSON.stringify(body, null, 2)}\n`);
  const valid = (name: string, description: string, certificate: string) =>
    write(`valid-${name}`, {
      description,
      certificate,
      expected: verifyShardCertificate(certificate, family.verifierKey),
    });
  const invalid = (name: string, description: string, certificate: string) => {
    let code = "none";
    try {
      verifyShardCertificate(certificate, family.verifierKey);
    } catch (e) {
      code = isChaosCoreError(e) ? e.code : "not coded";
    }
    if (!code.startsWith("SHARD_CERTIFICATE_")) throw new Error(`${name}: ${code}`);
    write(`invalid-${name}`, { description, certificate, expectedError: code });
  };
  const cert = (n: number) =>
    signShardCertificate(family.signerKey, {
      familyOrigin: FAMILY,
      shard: n,
      shardOrigin: `${FAMILY}/s${n}`,
      shardVerifierKey: shardKey(n),
    });
  valid("shard-1", "shard 1, its key derived from the family key (shards.md)", cert(1));
  valid("shard-1000", "shard 1000", cert(1000));
  valid(
    "extra-signature",
    "shard 2, also signed by another key (ignored, as for any signed note)",
    signNote(text(statement(2)), [other.signerKey, family.signerKey]),
  );
  invalid(
    "impostor",
    "signed by a key named like the family's, not the family key",
    signNote(text(statement(1)), impostor.signerKey),
  );
  invalid(
    "other-family",
    "a certificate of shard 1 of another family, by that family's key",
    signShardCertificate(other.signerKey, {
      familyOrigin: "vectors.chaoscore.dev/log/other",
      shard: 1,
      shardOrigin: "vectors.chaoscore.dev/log/other/s1",
      shardVerifierKey: shardKey(1, other.signerKey, "vectors.chaoscore.dev/log/other"),
    }),
  );
  invalid(
    "unsigned-by-family",
    "this family's statement signed only by another family's key",
    signNote(text(statement(1)), other.signerKey),
  );
  invalid(
    "changed-key",
    "the shard key line replaced after signing",
    cert(1).replace(
      shardKey(1),
      generateNoteKey(`${FAMILY}/s1`, new Uint8Array(32).fill(1)).verifierKey,
    ),
  );
  invalid(
    "shard-zero",
    "shard 0 (the family's own log has no certificate)",
    signNote(
      text([SHARD_CERTIFICATE_FORMAT, FAMILY, 0, FAMILY, family.verifierKey]),
      family.signerKey,
    ),
  );
  invalid(
    "origin-not-under-family",
    "the shard origin is another family's",
    signNote(
      text([
        SHARD_CERTIFICATE_FORMAT,
        FAMILY,
        1,
        "vectors.chaoscore.dev/log/other/s1",
        shardKey(1, other.signerKey, "vectors.chaoscore.dev/log/other"),
      ]),
      family.signerKey,
    ),
  );
  invalid(
    "origin-other-number",
    "the shard origin names shard 2, the number line 1",
    signNote(
      text([SHARD_CERTIFICATE_FORMAT, FAMILY, 1, `${FAMILY}/s2`, shardKey(2)]),
      family.signerKey,
    ),
  );
  invalid(
    "key-named-otherwise",
    "the shard key is named for shard 2",
    signNote(
      text([SHARD_CERTIFICATE_FORMAT, FAMILY, 1, `${FAMILY}/s1`, shardKey(2)]),
      family.signerKey,
    ),
  );
  invalid(
    "leading-zero",
    "the shard number with a leading zero",
    signNote(
      text([SHARD_CERTIFICATE_FORMAT, FAMILY, "01", `${FAMILY}/s1`, shardKey(1)]),
      family.signerKey,
    ),
  );
  invalid(
    "format",
    "another format line",
    signNote(text(["chaoscore.log-shard/v2", ...statement(1).slice(1)]), family.signerKey),
  );
  invalid(
    "six-lines",
    "an extra line after the key",
    signNote(text([...statement(1), "extra"]), family.signerKey),
  );
  invalid("no-signatures", "the text alone, no blank line and signatures", text(statement(1)));
  invalid(
    "carriage-return",
    "a carriage return before the blank line",
    cert(1).replace("\n\n", "\r\n\n"),
  );
  console.log(`wrote ${readdirSync(OUT).length} files to ${OUT}`);
}

main();
