import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ErrorCode, isChaosCoreError } from "./errors.js";
import { sha256 } from "./hash.js";
import { generateNoteKey, signNote } from "./note.js";
import {
  parseShardCertificate,
  SHARD_CERTIFICATE_FORMAT,
  type ShardCertificate,
  shardNumberOfOrigin,
  signShardCertificate,
  verifyShardCertificate,
} from "./shard-certificate.js";

const numRuns = process.env.CI ? 200 : 25;

function codeOf(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (e) {
    if (isChaosCoreError(e)) return e.code;
    throw new Error(`expected a ChaosCoreError, got ${String(e)}`);
  }
  throw new Error("expected a ChaosCoreError, but the call succeeded");
}

const FAMILY = "chaoscore.local/log/default";
const family = generateNoteKey(FAMILY, sha256("shard certificate test family"));
const other = generateNoteKey("chaoscore.local/log/other", sha256("shard certificate test other"));
const impostor = generateNoteKey(FAMILY, sha256("shard certificate test impostor"));
const s1 = generateNoteKey(`${FAMILY}/s1`, sha256("shard certificate test s1"));
const s2 = generateNoteKey(`${FAMILY}/s2`, sha256("shard certificate test s2"));

const STATEMENT: ShardCertificate = {
  familyOrigin: FAMILY,
  shard: 1,
  shardOrigin: `${FAMILY}/s1`,
  shardVerifierKey: s1.verifierKey,
};
const CERT = signShardCertificate(family.signerKey, STATEMENT);

/** A note signed by `signerKey` over exactly `text` (bypassing the statement checks). */
const rawCert = (text: string, signerKey = family.signerKey) => signNote(text, signerKey);

describe("signShardCertificate / verifyShardCertificate", () => {
  it("signs the five-line text and verifies back to the statement", () => {
    expect(
      CERT.startsWith(
        `${SHARD_CERTIFICATE_FORMAT}\n${FAMILY}\n1\n${FAMILY}/s1\n${s1.verifierKey}\n\n— ${FAMILY} `,
      ),
    ).toBe(true);
    expect(verifyShardCertificate(CERT, family.verifierKey)).toEqual(STATEMENT);
    expect(parseShardCertificate(CERT)).toEqual(STATEMENT);
  });

  it("is deterministic (Ed25519): the same statement gives the same note", () => {
    expect(signShardCertificate(family.signerKey, STATEMENT)).toBe(CERT);
  });

  it("refuses a certificate signed by another key of the same name: SIGNATURE_INVALID", () => {
    const forged = signShardCertificate(impostor.signerKey, STATEMENT);
    expect(codeOf(() => verifyShardCertificate(forged, family.verifierKey))).toBe(
      "SHARD_CERTIFICATE_SIGNATURE_INVALID",
    );
  });

  it("refuses a certificate of another family: WRONG_FAMILY", () => {
    const s1other = generateNoteKey("chaoscore.local/log/other/s1", sha256("o1"));
    const cert = signShardCertificate(other.signerKey, {
      familyOrigin: "chaoscore.local/log/other",
      shard: 1,
      shardOrigin: "chaoscore.local/log/other/s1",
      shardVerifierKey: s1other.verifierKey,
    });
    expect(codeOf(() => verifyShardCertificate(cert, family.verifierKey))).toBe(
      "SHARD_CERTIFICATE_WRONG_FAMILY",
    );
    // A text naming this family but signed by another family's key: no trusted signature.
    expect(
      codeOf(() =>
        verifyShardCertificate(
          rawCert(`${CERT.split("\n\n")[0]}\n`, other.signerKey),
          family.verifierKey,
        ),
      ),
    ).toBe("SHARD_CERTIFICATE_SIGNATURE_INVALID");
  });

  it("refuses to sign with a key not named for the family", () => {
    expect(codeOf(() => signShardCertificate(other.signerKey, STATEMENT))).toBe(
      "SHARD_CERTIFICATE_WRONG_FAMILY",
    );
  });

  it("refuses shard 0 (signing, parsing, verifying): MALFORMED", () => {
    expect(
      codeOf(() =>
        signShardCertificate(family.signerKey, { ...STATEMENT, shard: 0, shardOrigin: FAMILY }),
      ),
    ).toBe("SHARD_CERTIFICATE_MALFORMED");
    const zero = rawCert(
      `${SHARD_CERTIFICATE_FORMAT}\n${FAMILY}\n0\n${FAMILY}\n${family.verifierKey}\n`,
    );
    expect(codeOf(() => verifyShardCertificate(zero, family.verifierKey))).toBe(
      "SHARD_CERTIFICATE_MALFORMED",
    );
  });

  it("refuses a shard origin not under the family origin: ORIGIN_INVALID", () => {
    const cases: [string, string][] = [
      ["chaoscore.local/log/other/s1", "a foreign origin"],
      [`${FAMILY}/s2`, "another shard's number"],
      [`${FAMILY}s1`, "no slash"],
      [`${FAMILY}/s01`, "a leading zero"],
    ];
    for (const [origin] of cases) {
      const key = generateNoteKey(origin, sha256(origin)).verifierKey;
      const text = `${SHARD_CERTIFICATE_FORMAT}\n${FAMILY}\n1\n${origin}\n${key}\n`;
      expect(codeOf(() => verifyShardCertificate(rawCert(text), family.verifierKey))).toBe(
        "SHARD_CERTIFICATE_ORIGIN_INVALID",
      );
      expect(
        codeOf(() =>
          signShardCertificate(family.signerKey, {
            ...STATEMENT,
            shardOrigin: origin,
            shardVerifierKey: key,
          }),
        ),
      ).toBe("SHARD_CERTIFICATE_ORIGIN_INVALID");
    }
  });

  it("refuses a shard key named for another origin: ORIGIN_INVALID", () => {
    const text = `${SHARD_CERTIFICATE_FORMAT}\n${FAMILY}\n1\n${FAMILY}/s1\n${s2.verifierKey}\n`;
    expect(codeOf(() => verifyShardCertificate(rawCert(text), family.verifierKey))).toBe(
      "SHARD_CERTIFICATE_ORIGIN_INVALID",
    );
  });

  it("refuses malformed texts and notes: MALFORMED", () => {
    const good = `${SHARD_CERTIFICATE_FORMAT}\n${FAMILY}\n1\n${FAMILY}/s1\n${s1.verifierKey}\n`;
    const texts = [
      good.replace(SHARD_CERTIFICATE_FORMAT, "chaoscore.log-shard/v2"),
      good.replace("\n1\n", "\n+1\n"),
      good.replace("\n1\n", "\n1.0\n"),
      good.replace("\n1\n", "\n99999999999999999999\n"),
      `${good}extra\n`,
      good.replace(`${s1.verifierKey}\n`, ""),
      good.replace(s1.verifierKey, `${FAMILY}/s1+00000000+AAAA`),
    ];
    for (const text of texts) {
      expect(codeOf(() => verifyShardCertificate(rawCert(text), family.verifierKey))).toBe(
        "SHARD_CERTIFICATE_MALFORMED",
      );
    }
    for (const note of ["", "no blank line\n", CERT.replace("\n\n", "\r\n\n"), `${CERT}garbage`]) {
      expect(codeOf(() => verifyShardCertificate(note, family.verifierKey))).toBe(
        "SHARD_CERTIFICATE_MALFORMED",
      );
    }
    expect(codeOf(() => parseShardCertificate(42 as unknown as string))).toBe(
      "SHARD_CERTIFICATE_MALFORMED",
    );
  });

  it("reports a malformed family key as NOTE_MALFORMED (the caller's key, not the certificate)", () => {
    expect(codeOf(() => verifyShardCertificate(CERT, "not a key"))).toBe("NOTE_MALFORMED");
  });

  it("property: changing any one byte of the certificate makes it fail with a coded error", () => {
    const bytes = new TextEncoder().encode(CERT);
    fc.assert(
      fc.property(
        fc.nat({ max: bytes.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (pos, delta) => {
          const changed = bytes.slice();
          changed[pos] = ((changed[pos] ?? 0) + delta) % 256;
          const text = new TextDecoder().decode(changed);
          if (text === CERT) return; // a change inside a multi-byte character that decodes back
          const code = codeOf(() => verifyShardCertificate(text, family.verifierKey));
          expect(code.startsWith("SHARD_CERTIFICATE_")).toBe(true);
        },
      ),
      { numRuns: numRuns * 8 },
    );
  });

  it("property: any shard n ≥ 1 round-trips; its origin maps back to n", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), (n) => {
        const shardOrigin = `${FAMILY}/s${n}`;
        const key = generateNoteKey(shardOrigin, sha256(shardOrigin)).verifierKey;
        const statement = { familyOrigin: FAMILY, shard: n, shardOrigin, shardVerifierKey: key };
        const cert = signShardCertificate(family.signerKey, statement);
        expect(verifyShardCertificate(cert, family.verifierKey)).toEqual(statement);
        expect(shardNumberOfOrigin(FAMILY, shardOrigin)).toBe(n);
      }),
      { numRuns },
    );
  });
});

describe("shardNumberOfOrigin", () => {
  it("is 0 for the family origin, n for <family>/s<n>, undefined otherwise", () => {
    expect(shardNumberOfOrigin(FAMILY, FAMILY)).toBe(0);
    expect(shardNumberOfOrigin(FAMILY, `${FAMILY}/s12`)).toBe(12);
    for (const o of [
      `${FAMILY}/s0`,
      `${FAMILY}/s012`,
      `${FAMILY}/s`,
      `${FAMILY}/x1`,
      "other/s1",
      `${FAMILY}s1`,
    ]) {
      expect(shardNumberOfOrigin(FAMILY, o)).toBeUndefined();
    }
  });
});

describe("vectors/shard-certificates", () => {
  const dir = join(import.meta.dirname, "..", "..", "..", "vectors", "shard-certificates");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
  const familyKey = readFileSync(join(dir, "family-key.txt"), "utf8").trim();
  const load = (f: string) => JSON.parse(readFileSync(join(dir, f), "utf8"));

  it("has valid and invalid vectors", () => {
    expect(files.filter((f) => f.startsWith("valid-")).length).toBeGreaterThanOrEqual(3);
    expect(files.filter((f) => f.startsWith("invalid-")).length).toBeGreaterThanOrEqual(10);
  });

  it.each(files.filter((f) => f.startsWith("valid-")))("%s verifies", (f) => {
    const v = load(f);
    expect(verifyShardCertificate(v.certificate, familyKey)).toEqual(v.expected);
  });

  it.each(files.filter((f) => f.startsWith("invalid-")))("%s fails with its code", (f) => {
    const v = load(f);
    expect(codeOf(() => verifyShardCertificate(v.certificate, familyKey))).toBe(v.expectedError);
  });
});
