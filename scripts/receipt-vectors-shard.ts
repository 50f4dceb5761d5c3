/**
 * The shard vectors of vectors/receipts/ (docs/spec/receipt.md §7): a receipt
 * whose checkpoint is of shard 1 of the vectors' log family, carrying the
 * shard certificate signed by the family key (log-key.txt), and the ways such
 * a receipt fails. Built from a receipt the log made: its checkpoint body
 * (size and root) re-signed under the shard origin with the shard key derived
 * from the family key (entries do not name an origin, so the proofs still hold).
 * Called by generate-receipt-vectors.ts (`npm run vectors:receipts`).
 */
import {
  deriveShardKey,
  generateNoteKey,
  isChaosCoreError,
  type Receipt,
  signNote,
  signShardCertificate,
  verifyReceipt,
} from "@chaoscore/core";

type Write = (name: string, body: Record<string, unknown>) => void;

/** The code behind a RECEIPT_SHARD_CERTIFICATE_INVALID (its `details.cause`). */
function causeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isChaosCoreError(error)) return String(error.details?.cause ?? error.code);
    throw error;
  }
  return "OK";
}

/** `note`'s text re-signed with `signerKey`, its first line (the origin) replaced by `origin`. */
function resign(note: string, origin: string, signerKey: string): string {
  const body = note.slice(0, note.indexOf("\n\n") + 1);
  return signNote(body.replace(/^[^\n]+/, origin), signerKey);
}

/**
 * Writes valid-shard.json and tampered-shard-*.json, built from `receipt`
 * (a receipt of the family's own log, shard 0).
 */
export function writeShardReceiptVectors(options: {
  origin: string;
  signerKey: string;
  verifierKey: string;
  receipt: Receipt;
  write: Write;
}): void {
  const { origin, signerKey, verifierKey, receipt, write } = options;
  const clone = (): Receipt => JSON.parse(JSON.stringify(receipt)) as Receipt;
  const shardCert = (n: number, familySigner = signerKey, family = origin) =>
    signShardCertificate(familySigner, {
      familyOrigin: family,
      shard: n,
      shardOrigin: `${family}/s${n}`,
      shardVerifierKey: deriveShardKey(familySigner, `${family}/s${n}`).verifierKey,
    });
  const s1 = deriveShardKey(signerKey, `${origin}/s1`);
  const ofShard1 = (): Receipt => ({
    ...clone(),
    checkpoint: resign(receipt.checkpoint, `${origin}/s1`, s1.signerKey),
    shard: shardCert(1),
  });

  const valid = ofShard1();
  write("valid-shard", {
    description:
      "an action of shard 1 of the log family: its checkpoint signed by the shard key, the shard certificate signed by the family key (log-key.txt)",
    receipt: valid,
    expected: verifyReceipt(valid, verifierKey),
  });

  const tampered = (
    name: string,
    description: string,
    expectedError: string,
    r: Receipt,
    withCause = false,
  ) => {
    const code = (() => {
      try {
        verifyReceipt(r, verifierKey);
        return "OK";
      } catch (e) {
        return isChaosCoreError(e) ? e.code : "stray";
      }
    })();
    if (code !== expectedError) throw new Error(`${name}: ${code}, expected ${expectedError}`);
    const cause = causeOf(() => verifyReceipt(r, verifierKey));
    write(`tampered-shard-${name}`, {
      description,
      receipt: r,
      expectedError,
      ...(withCause ? { expectedCause: cause } : {}),
    });
  };

  const { shard: _omit, ...uncertified } = ofShard1();
  tampered(
    "uncertified",
    "a receipt of shard 1 without its shard certificate",
    "RECEIPT_SHARD_UNCERTIFIED",
    uncertified,
  );
  const otherFamily = generateNoteKey(
    "vectors.chaoscore.dev/log/other",
    new Uint8Array(32).fill(9),
  );
  tampered(
    "other-family",
    "the certificate of shard 1 of another log family (its own key and origin)",
    "RECEIPT_SHARD_CERTIFICATE_INVALID",
    {
      ...ofShard1(),
      shard: shardCert(1, otherFamily.signerKey, "vectors.chaoscore.dev/log/other"),
    },
    true,
  );
  const impostor = generateNoteKey(origin, new Uint8Array(32).fill(8));
  tampered(
    "forged-certificate",
    "a certificate of shard 1 signed by a key named like the family's but not the family key",
    "RECEIPT_SHARD_CERTIFICATE_INVALID",
    { ...ofShard1(), shard: shardCert(1, impostor.signerKey) },
    true,
  );
  tampered(
    "other-origin",
    "a valid certificate of shard 2 on a receipt of shard 1",
    "RECEIPT_SHARD_MISMATCH",
    { ...ofShard1(), shard: shardCert(2) },
  );
  tampered(
    "on-shard-zero",
    "a receipt of the family's own log (shard 0) carrying a certificate of shard 1",
    "RECEIPT_SHARD_MISMATCH",
    { ...clone(), shard: shardCert(1) },
  );
  const uncertifiedKey = generateNoteKey(`${origin}/s1`, new Uint8Array(32).fill(10));
  tampered(
    "uncertified-key",
    "a checkpoint of shard 1 signed by a key the certificate does not name",
    "RECEIPT_CHECKPOINT_INVALID",
    {
      ...ofShard1(),
      checkpoint: resign(receipt.checkpoint, `${origin}/s1`, uncertifiedKey.signerKey),
    },
  );
  tampered(
    "certificate-text",
    "the certificate's shard key line changed to another key after signing",
    "RECEIPT_SHARD_CERTIFICATE_INVALID",
    {
      ...ofShard1(),
      shard: shardCert(1).replace(s1.verifierKey, uncertifiedKey.verifierKey),
    },
    true,
  );
}
