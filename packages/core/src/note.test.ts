import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ErrorCode, isChaosCoreError } from "./errors.js";
import { sha256, utf8 } from "./hash.js";
import { bytesToBase64 } from "./hex.js";
import {
  generateNoteKey,
  hasControlCharacter,
  isValidNoteKeyName,
  isWellFormedText,
  MAX_NOTE_SIGNATURES,
  MAX_NOTE_SIZE,
  noteKeyId,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifierKeyFromSignerKey,
} from "./note.js";

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

// The example of golang.org/x/mod/sumdb/note (package documentation and
// example_test.go): Ed25519 is deterministic, so the signed note is exact.
const GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT =
  "If you think cryptography is the answer to your problem,\n" +
  "then you don't know what your problem is.\n";
const GO_NOTE =
  `${GO_TEXT}\n` +
  "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

const A = generateNoteKey("chaoscore.local/log/a", sha256("note test key a"));
const B = generateNoteKey("witness.example/b", sha256("note test key b"));

describe("golang.org/x/mod/sumdb/note interoperability", () => {
  it("parses the example keys and reproduces the example note byte for byte", () => {
    const v = parseVerifierKey(GO_VKEY);
    expect(v.name).toBe("PeterNeumann");
    expect(v.keyId).toBe("c74f20a3");
    const s = parseSignerKey(GO_SKEY);
    expect(s.keyId).toBe("c74f20a3");
    expect(s.publicKey).toEqual(v.publicKey);
    expect(noteKeyId("PeterNeumann", v.publicKey)).toBe("c74f20a3");
    expect(verifierKeyFromSignerKey(GO_SKEY)).toBe(GO_VKEY);
    expect(generateNoteKey("PeterNeumann", s.seed)).toEqual({
      signerKey: GO_SKEY,
      verifierKey: GO_VKEY,
    });
    expect(signNote(GO_TEXT, GO_SKEY)).toBe(GO_NOTE);
    const opened = openNote(GO_NOTE, GO_VKEY);
    expect(opened.text).toBe(GO_TEXT);
    expect(opened.signatures.map(({ name, keyId, verified }) => [name, keyId, verified])).toEqual([
      ["PeterNeumann", "c74f20a3", true],
    ]);
  });

  it("refuses Go's bad verifier keys and every mangling of the example keys", () => {
    // From note_test.go: wrong key length and unknown algorithm, both with adjusted key IDs.
    expect(
      codeOf(() =>
        parseVerifierKey(
          "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        ),
      ),
    ).toBe("NOTE_MALFORMED");
    expect(
      codeOf(() =>
        parseVerifierKey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
      ),
    ).toBe("NOTE_MALFORMED");
    for (const [key, parse] of [
      [GO_VKEY, parseVerifierKey],
      [GO_SKEY, parseSignerKey],
    ] as const) {
      for (let i = 0; i <= key.length; i++) {
        for (let j = i + 1; j <= key.length; j++) {
          if (i === 0 && j === key.length) continue;
          expect(codeOf(() => parse(key.slice(i, j)))).toBe("NOTE_MALFORMED");
        }
      }
      for (let i = 0; i < key.length; i++) {
        const mangled =
          key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1);
        expect(codeOf(() => parse(mangled))).toBe("NOTE_MALFORMED");
      }
    }
  });
});

describe("isValidNoteKeyName", () => {
  it("follows the spec's name rules", () => {
    expect(isValidNoteKeyName("chaoscore.local/log/default")).toBe(true);
    expect(isValidNoteKeyName("é/ü")).toBe(true);
    for (const bad of ["", "a b", "a+b", "a\tb", "a\nb", "a\u00a0b", "a\u3000b", "a\ud800", 42]) {
      expect(isValidNoteKeyName(bad)).toBe(false);
    }
  });
});

describe("hasControlCharacter / isWellFormedText", () => {
  it("flag what a note may not contain", () => {
    expect(hasControlCharacter("a\nb — é")).toBe(false);
    expect(["\r", "\t", "\u0000", "\u001f"].map(hasControlCharacter)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(hasControlCharacter("\u007f")).toBe(false); // DEL is not below U+0020
    expect(isWellFormedText("é😀")).toBe(true);
    expect(["\ud800", "\udc00x", "x\ud83d"].map(isWellFormedText)).toEqual([false, false, false]);
  });
});

describe("noteKeyId / verifierKeyFromSignerKey", () => {
  it("derive the key ID and the verifier key", () => {
    const { publicKey } = parseVerifierKey(A.verifierKey);
    expect(noteKeyId("chaoscore.local/log/a", publicKey)).toBe(
      parseVerifierKey(A.verifierKey).keyId,
    );
    expect(noteKeyId("chaoscore.local/log/b", publicKey)).not.toBe(
      parseVerifierKey(A.verifierKey).keyId,
    );
    expect(verifierKeyFromSignerKey(A.signerKey)).toBe(A.verifierKey);
    expect(codeOf(() => noteKeyId("a b", publicKey))).toBe("NOTE_MALFORMED");
    expect(codeOf(() => noteKeyId("a", publicKey.subarray(1)))).toBe("NOTE_MALFORMED");
    expect(codeOf(() => verifierKeyFromSignerKey(A.verifierKey))).toBe("NOTE_MALFORMED");
  });
});

describe("generateNoteKey", () => {
  it("makes key strings in the sumdb/note encoding", () => {
    const { signerKey, verifierKey } = generateNoteKey("chaoscore.local/log/x");
    expect(signerKey).toMatch(/^PRIVATE\+KEY\+chaoscore\.local\/log\/x\+[0-9a-f]{8}\+A[Q-Za-f]/);
    expect(verifierKey).toMatch(/^chaoscore\.local\/log\/x\+[0-9a-f]{8}\+A[Q-Za-f]/);
    expect(verifierKeyFromSignerKey(signerKey)).toBe(verifierKey);
    expect(generateNoteKey("n").verifierKey).not.toBe(generateNoteKey("n").verifierKey);
  });

  it("is deterministic given a seed", () => {
    const seed = sha256("seed");
    expect(generateNoteKey("n", seed)).toEqual(generateNoteKey("n", seed));
  });

  it("refuses bad names and seeds", () => {
    expect(codeOf(() => generateNoteKey("a b"))).toBe("NOTE_MALFORMED");
    expect(codeOf(() => generateNoteKey("a+b"))).toBe("NOTE_MALFORMED");
    expect(codeOf(() => generateNoteKey("n", new Uint8Array(31)))).toBe("NOTE_MALFORMED");
  });
});

describe("parseVerifierKey / parseSignerKey", () => {
  it("refuses the wrong kind of key and non-strings", () => {
    expect(codeOf(() => parseVerifierKey(A.signerKey))).toBe("NOTE_MALFORMED");
    expect(codeOf(() => parseSignerKey(A.verifierKey))).toBe("NOTE_MALFORMED");
    expect(codeOf(() => parseVerifierKey(undefined as unknown as string))).toBe("NOTE_MALFORMED");
    expect(codeOf(() => parseSignerKey(7 as unknown as string))).toBe("NOTE_MALFORMED");
  });

  it("refuses uppercase key IDs and a key ID of another name", () => {
    expect(codeOf(() => parseVerifierKey(GO_VKEY.replace("c74f20a3", "C74F20A3")))).toBe(
      "NOTE_MALFORMED",
    );
    expect(codeOf(() => parseVerifierKey(GO_VKEY.replace("PeterNeumann", "PeterNeuman")))).toBe(
      "NOTE_MALFORMED",
    );
  });
});

describe("signNote", () => {
  it("writes the text, a blank line and one line per key", () => {
    const note = signNote("hello\n", [A.signerKey, B.signerKey]);
    const lines = note.split("\n");
    expect(lines.slice(0, 2)).toEqual(["hello", ""]);
    expect(lines[2]).toMatch(/^— chaoscore\.local\/log\/a [A-Za-z0-9+/]{91}=$/);
    expect(lines[3]).toMatch(/^— witness\.example\/b [A-Za-z0-9+/]{91}=$/);
    expect(lines[4]).toBe("");
    expect(lines).toHaveLength(5);
  });

  it("refuses texts that could not be opened", () => {
    for (const text of ["", "no newline", "a\r\n", "tab\t\n", "nul\u0000\n", "\ud800\n"]) {
      expect(codeOf(() => signNote(text, A.signerKey))).toBe("NOTE_MALFORMED");
    }
    expect(codeOf(() => signNote(`${"x".repeat(MAX_NOTE_SIZE)}\n`, A.signerKey))).toBe(
      "NOTE_MALFORMED",
    );
    expect(codeOf(() => signNote("x\n", []))).toBe("NOTE_MALFORMED");
    expect(codeOf(() => signNote("x\n", A.verifierKey))).toBe("NOTE_MALFORMED");
  });
});

describe("openNote", () => {
  const text = "chaoscore.local/log/a\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
  const note = signNote(text, A.signerKey);

  it("opens a note signed by the trusted key, from a string or bytes", () => {
    expect(openNote(note, A.verifierKey).text).toBe(text);
    expect(openNote(utf8(note), A.verifierKey).text).toBe(text);
    expect(openNote(note, [B.verifierKey, A.verifierKey]).text).toBe(text);
  });

  it("tolerates cosignatures and unknown signatures, and reports them unverified", () => {
    const cosigned = signNote(text, [A.signerKey, B.signerKey]);
    expect(openNote(cosigned, A.verifierKey).signatures.map((s) => s.verified)).toEqual([
      true,
      false,
    ]);
    expect(openNote(cosigned, B.verifierKey).signatures.map((s) => s.verified)).toEqual([
      false,
      true,
    ]);
    expect(
      openNote(cosigned, [A.verifierKey, B.verifierKey]).signatures.map((s) => s.verified),
    ).toEqual([true, true]);
    // A witness cosignature of another type (e.g. 0x04, 8-byte timestamp + 64-byte signature),
    // and a key with the same name but another key ID: both ignored.
    const other = bytesToBase64(new Uint8Array(4 + 72).fill(7));
    const sameName = bytesToBase64(new Uint8Array(4 + 64).fill(9));
    const extended = `${note}— witness.example/c ${other}\n— chaoscore.local/log/a ${sameName}\n`;
    const opened = openNote(extended, A.verifierKey);
    expect(opened.text).toBe(text);
    expect(opened.signatures.map((s) => [s.name, s.keyId, s.verified])).toEqual([
      ["chaoscore.local/log/a", parseVerifierKey(A.verifierKey).keyId, true],
      ["witness.example/c", "07070707", false],
      ["chaoscore.local/log/a", "09090909", false],
    ]);
  });

  it("fails with NOTE_SIGNATURE_INVALID for tampered text, signature or the wrong key", () => {
    expect(codeOf(() => openNote(note.replace("\n3\n", "\n4\n"), A.verifierKey))).toBe(
      "NOTE_SIGNATURE_INVALID",
    );
    expect(codeOf(() => openNote(note, B.verifierKey))).toBe("NOTE_SIGNATURE_INVALID");
    const sigLine = note.slice(note.lastIndexOf("— "));
    const b64 = sigLine.slice(sigLine.lastIndexOf(" ") + 1, -1);
    const bytes = Buffer.from(b64, "base64");
    bytes[10] = (bytes[10] as number) ^ 1;
    const tampered = note.replace(b64, bytes.toString("base64"));
    expect(codeOf(() => openNote(tampered, A.verifierKey))).toBe("NOTE_SIGNATURE_INVALID");
    // A trusted key's bad signature fails the note even when another one verifies.
    expect(
      codeOf(() =>
        openNote(`${note}${sigLine.replace(b64, bytes.toString("base64"))}`, A.verifierKey),
      ),
    ).toBe("NOTE_SIGNATURE_INVALID");
    // A trusted key's signature of the wrong length.
    const short = bytesToBase64(Buffer.concat([bytes.subarray(0, 4), bytes.subarray(5)]));
    expect(codeOf(() => openNote(note.replace(b64, short), A.verifierKey))).toBe(
      "NOTE_SIGNATURE_INVALID",
    );
  });

  it("fails with NOTE_MALFORMED for malformed notes", () => {
    const line = note.slice(note.lastIndexOf("— "));
    const cases: [string, string | Uint8Array][] = [
      ["no blank line", `${text}${line}`],
      ["no signatures", `${text}\n`],
      ["no final newline", note.slice(0, -1)],
      ["CRLF", note.replaceAll("\n", "\r\n")],
      ["CR in text", note.replace("\n3\n", "\n3\r\n")],
      ["tab", note.replace("\n3\n", "\n\t3\n")],
      ["hyphen instead of em dash", note.replace("— ", "- ")],
      ["no space after the dash", note.replace("— ", "—")],
      ["no space before the signature", note.replace(/ (\S+)\n$/, "$1\n")],
      ["bad base64", note.replace(/=\n$/, "\n")],
      ["signature too short", `${text}\n— chaoscore.local/log/a AAAAAA==\n`],
      ["name with a plus", note.replace("— chaoscore.local/log/a", "— chaoscore+a")],
      ["lone surrogate", note.replace("\n3\n", "\n3\ud800\n")],
      ["invalid UTF-8", Uint8Array.from([...utf8(text), 0xff, 0x0a, ...utf8(`\n${line}`)])],
      ["too large", `${"x".repeat(MAX_NOTE_SIZE)}\n${note}`],
      ["too large (bytes)", new Uint8Array(MAX_NOTE_SIZE + 1).fill(0x61)],
    ];
    for (const [what, bad] of cases) {
      expect([what, codeOf(() => openNote(bad, A.verifierKey))]).toEqual([what, "NOTE_MALFORMED"]);
    }
    expect(codeOf(() => openNote(42 as unknown as string, A.verifierKey))).toBe("NOTE_MALFORMED");
    expect(codeOf(() => openNote(note, "not a key"))).toBe("NOTE_MALFORMED");
  });

  it(`accepts up to ${MAX_NOTE_SIGNATURES} signatures and refuses more`, () => {
    const unknown = (i: number) =>
      `— other.example/${i} ${bytesToBase64(new Uint8Array(68).fill(i))}\n`;
    const many = (n: number) => note + Array.from({ length: n }, (_, i) => unknown(i)).join("");
    expect(openNote(many(MAX_NOTE_SIGNATURES - 1), A.verifierKey).signatures).toHaveLength(
      MAX_NOTE_SIGNATURES,
    );
    expect(codeOf(() => openNote(many(MAX_NOTE_SIGNATURES), A.verifierKey))).toBe("NOTE_MALFORMED");
  });

  it("round-trips any valid text (property)", () => {
    const line = fc
      .string({ unit: "grapheme", maxLength: 40 })
      .map((s) => [...s].filter((ch) => !hasControlCharacter(ch)).join(""));
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 6 }), (lines) => {
        const t = `${lines.join("\n")}\n`;
        const signed = signNote(t, A.signerKey);
        expect(openNote(signed, A.verifierKey).text).toBe(t);
        expect(openNote(utf8(signed), A.verifierKey).text).toBe(t);
      }),
      { numRuns },
    );
  });

  it("fails for any single changed character of the text (property)", () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0x20, max: 0x7e }), (pos, c) => {
        const i = pos % (text.length - 1); // keep the final newline
        if (text.charCodeAt(i) === c || text[i] === "\n") return;
        const changed = text.slice(0, i) + String.fromCharCode(c) + text.slice(i + 1);
        expect(codeOf(() => openNote(note.replace(text, changed), A.verifierKey))).toBe(
          "NOTE_SIGNATURE_INVALID",
        );
      }),
      { numRuns },
    );
  });
});
