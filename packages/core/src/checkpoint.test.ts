import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Checkpoint,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from "./checkpoint.js";
import { type ErrorCode, isChaosCoreError } from "./errors.js";
import { sha256, utf8 } from "./hash.js";
import { base64ToBytes, bytesToBase64, bytesToHex } from "./hex.js";
import { generateNoteKey, signNote } from "./note.js";

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

const repoFile = (path: string): string =>
  fileURLToPath(new URL(`../../../${path}`, import.meta.url));

/** vectors/checkpoints/example.json, the worked example of docs/spec/checkpoint.md. */
const EXAMPLE = JSON.parse(readFileSync(repoFile("vectors/checkpoints/example.json"), "utf8")) as {
  origin: string;
  size: number;
  rootHash: string;
  verifierKey: string;
  signedNote: string;
  signerKey: string;
};

const ORIGIN = "chaoscore.local/log/default";
/** Root of the RFC 6962 reference tree of 8 leaves (see merkle.test.ts). */
const ROOT8 = base64ToBytes("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=");
const CP: Checkpoint = { origin: ORIGIN, size: 8, rootHash: ROOT8, extensions: [] };
const KEY = generateNoteKey(ORIGIN, sha256("checkpoint test key"));
const OTHER = generateNoteKey(ORIGIN, sha256("another key of the same name"));

describe("formatCheckpoint", () => {
  it("writes origin, size and root, each on its own line", () => {
    expect(formatCheckpoint(CP)).toBe(
      "chaoscore.local/log/default\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n",
    );
    expect(
      formatCheckpoint({
        origin: "o",
        size: 0,
        rootHash: new Uint8Array(32),
        extensions: ["x y", "é"],
      }),
    ).toBe("o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nx y\né\n");
    expect(formatCheckpoint({ ...CP, size: Number.MAX_SAFE_INTEGER })).toBe(
      `${ORIGIN}\n9007199254740991\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n`,
    );
  });

  it("refuses checkpoints it could not parse back", () => {
    const bad: unknown[] = [
      { ...CP, origin: "" },
      { ...CP, origin: "a\nb" },
      { ...CP, origin: "a\rb" },
      { ...CP, origin: "\ud800" },
      { ...CP, size: -1 },
      { ...CP, size: 1.5 },
      { ...CP, size: 2 ** 53 },
      { ...CP, size: 8n },
      { ...CP, rootHash: new Uint8Array(31) },
      { ...CP, rootHash: bytesToHex(ROOT8) },
      { ...CP, extensions: [""] },
      { ...CP, extensions: ["a\nb"] },
      { ...CP, extensions: "x" },
      null,
    ];
    for (const cp of bad) {
      expect(codeOf(() => formatCheckpoint(cp as Checkpoint))).toBe("CHECKPOINT_MALFORMED");
    }
  });
});

describe("parseCheckpoint", () => {
  it("parses the C2SP spec's example and ours", () => {
    const spec = parseCheckpoint(
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    );
    expect(spec.origin).toBe("example.com/behind-the-sofa");
    expect(spec.size).toBe(20852163);
    expect(bytesToBase64(spec.rootHash)).toBe("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
    expect(spec.extensions).toEqual([]);
    expect(parseCheckpoint(`${formatCheckpoint(CP)}ext 1\next 2\n`)).toEqual({
      ...CP,
      extensions: ["ext 1", "ext 2"],
    });
    expect(parseCheckpoint("o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n").size).toBe(0);
  });

  it("refuses anything off with CHECKPOINT_MALFORMED", () => {
    const root = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=";
    const cases: [string, unknown][] = [
      ["no final newline", `o\n8\n${root}`],
      ["two lines", "o\n8\n"],
      ["empty origin", `\n8\n${root}\n`],
      ["empty extension", `o\n8\n${root}\n\n`],
      ["empty line between extensions", `o\n8\n${root}\na\n\nb\n`],
      ["leading zero", `o\n08\n${root}\n`],
      ["double zero", `o\n00\n${root}\n`],
      ["sign", `o\n+8\n${root}\n`],
      ["negative", `o\n-8\n${root}\n`],
      ["space", `o\n 8\n${root}\n`],
      ["decimal point", `o\n8.0\n${root}\n`],
      ["exponent", `o\n8e0\n${root}\n`],
      ["hex", `o\n0x8\n${root}\n`],
      ["empty size", `o\n\n${root}\n`],
      ["above 2^53 - 1", `o\n9007199254740992\n${root}\n`],
      ["far above", `o\n${"9".repeat(400)}\n${root}\n`],
      ["unpadded base64", `o\n8\n${root.slice(0, -1)}\n`],
      ["base64url", `o\n8\n${root.replace("+", "-").replace("/", "_")}\n`],
      ["non-canonical base64", `o\n8\n${root.slice(0, -2)}h=\n`],
      ["31-byte root", `o\n8\n${bytesToBase64(new Uint8Array(31))}\n`],
      ["33-byte root", `o\n8\n${bytesToBase64(new Uint8Array(33))}\n`],
      ["CRLF", `o\r\n8\r\n${root}\r\n`],
      ["tab", `o\t\n8\n${root}\n`],
      ["lone surrogate", `o\ud800\n8\n${root}\n`],
      ["not a string", utf8(`o\n8\n${root}\n`)],
    ];
    for (const [what, text] of cases) {
      expect([what, codeOf(() => parseCheckpoint(text as string))]).toEqual([
        what,
        "CHECKPOINT_MALFORMED",
      ]);
    }
  });

  it("round-trips formatCheckpoint (property)", () => {
    const line = fc
      .string({ unit: "grapheme", minLength: 1, maxLength: 30 })
      .filter((s) => [...s].every((ch) => ch >= " "));
    const checkpoint = fc.record({
      origin: line,
      size: fc.maxSafeNat(),
      rootHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      extensions: fc.array(line, { maxLength: 3 }),
    });
    fc.assert(
      fc.property(checkpoint, (cp) => {
        const parsed = parseCheckpoint(formatCheckpoint(cp));
        expect({ ...parsed, rootHash: bytesToHex(parsed.rootHash) }).toEqual({
          ...cp,
          rootHash: bytesToHex(cp.rootHash),
        });
      }),
      { numRuns },
    );
  });
});

describe("signCheckpoint", () => {
  it("signs the example checkpoint exactly as the vector (Ed25519 is deterministic)", () => {
    const cp = {
      origin: EXAMPLE.origin,
      size: EXAMPLE.size,
      rootHash: base64ToBytes(EXAMPLE.rootHash),
      extensions: [],
    };
    expect(signCheckpoint(cp, EXAMPLE.signerKey)).toBe(EXAMPLE.signedNote);
    expect(EXAMPLE.signedNote).toBe(
      "chaoscore.local/log/default\n" +
        "8\n" +
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n" +
        "\n" +
        "— chaoscore.local/log/default iEVwxfJIcnWzL77F5kSkwtMi1ym0kaBypLFWS6F1vfbdNOimD2m65IfVLA+pW0cx/unOzAvwhaukrtmc5+nL3JesIAI=\n",
    );
  });

  it("refuses a key whose name is not the origin, and bad checkpoints", () => {
    const other = generateNoteKey("chaoscore.local/log/other", sha256("x"));
    expect(codeOf(() => signCheckpoint(CP, other.signerKey))).toBe("CHECKPOINT_ORIGIN_MISMATCH");
    expect(codeOf(() => signCheckpoint({ ...CP, size: -1 }, KEY.signerKey))).toBe(
      "CHECKPOINT_MALFORMED",
    );
    expect(codeOf(() => signCheckpoint(CP, KEY.verifierKey))).toBe("NOTE_MALFORMED");
  });
});

describe("openCheckpoint", () => {
  it("verifies the worked example of docs/spec/checkpoint.md", () => {
    const cp = openCheckpoint(EXAMPLE.signedNote, EXAMPLE.verifierKey);
    expect(cp.origin).toBe(EXAMPLE.origin);
    expect(cp.size).toBe(EXAMPLE.size);
    expect(bytesToBase64(cp.rootHash)).toBe(EXAMPLE.rootHash);
    expect(cp.extensions).toEqual([]);
    // The document shows the same key and note, so it cannot go stale.
    const doc = readFileSync(repoFile("docs/spec/checkpoint.md"), "utf8");
    expect(doc).toContain(EXAMPLE.verifierKey);
    expect(doc).toContain(EXAMPLE.signerKey);
    expect(doc).toContain(EXAMPLE.signedNote);
  });

  it("opens our checkpoints from strings and bytes, with witness cosignatures", () => {
    const signed = signCheckpoint(CP, KEY.signerKey);
    expect(openCheckpoint(signed, KEY.verifierKey)).toEqual(CP);
    expect(openCheckpoint(utf8(signed), KEY.verifierKey)).toEqual(CP);
    const witness = generateNoteKey("witness.example/w1", sha256("w1"));
    const cosigned = signNote(formatCheckpoint(CP), [KEY.signerKey, witness.signerKey]);
    expect(openCheckpoint(cosigned, KEY.verifierKey)).toEqual(CP);
  });

  it("fails with the note's codes when the signature does not verify", () => {
    const signed = signCheckpoint(CP, KEY.signerKey);
    expect(codeOf(() => openCheckpoint(signed, OTHER.verifierKey))).toBe("NOTE_SIGNATURE_INVALID");
    expect(codeOf(() => openCheckpoint(signed.replace("\n8\n", "\n9\n"), KEY.verifierKey))).toBe(
      "NOTE_SIGNATURE_INVALID",
    );
    expect(codeOf(() => openCheckpoint(signed.replace("\n8\n", "\r\n8\n"), KEY.verifierKey))).toBe(
      "NOTE_MALFORMED",
    );
    expect(codeOf(() => openCheckpoint(signed, "nonsense"))).toBe("NOTE_MALFORMED");
  });

  it("fails with CHECKPOINT_MALFORMED when a verified note is not a checkpoint", () => {
    const note = signNote(
      `${ORIGIN}\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n`,
      KEY.signerKey,
    );
    expect(codeOf(() => openCheckpoint(note, KEY.verifierKey))).toBe("CHECKPOINT_MALFORMED");
    expect(codeOf(() => openCheckpoint(signNote("hello\n", KEY.signerKey), KEY.verifierKey))).toBe(
      "CHECKPOINT_MALFORMED",
    );
  });

  it("checks the origin against the key name, or the given origin", () => {
    const foreign = signNote(formatCheckpoint({ ...CP, origin: "example.com/log" }), KEY.signerKey);
    expect(codeOf(() => openCheckpoint(foreign, KEY.verifierKey))).toBe(
      "CHECKPOINT_ORIGIN_MISMATCH",
    );
    expect(openCheckpoint(foreign, KEY.verifierKey, { origin: "example.com/log" }).origin).toBe(
      "example.com/log",
    );
    const signed = signCheckpoint(CP, KEY.signerKey);
    expect(
      codeOf(() => openCheckpoint(signed, KEY.verifierKey, { origin: "example.com/log" })),
    ).toBe("CHECKPOINT_ORIGIN_MISMATCH");
  });
});
