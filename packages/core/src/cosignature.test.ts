import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { signCheckpoint } from "./checkpoint.js";
import {
  addSignatureLines,
  cosignatureMessage,
  cosignCheckpoint,
  generateWitnessKey,
  parseWitnessSignerKey,
  parseWitnessVerifierKey,
  verifyCosignatures,
  witnessVerifierKeyFromSignerKey,
} from "./cosignature.js";
import { type ErrorCode, isChaosCoreError } from "./errors.js";
import { sha256, utf8 } from "./hash.js";
import { base64ToBytes, bytesToBase64 } from "./hex.js";
import { generateNoteKey } from "./note.js";
import { parseWitnessKey } from "./trust-policy.js";

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

type Vector = {
  logVerifierKey: string;
  signedNote: string;
  witnesses: { name: string; signerKey: string; verifierKey: string }[];
  cosignatures: { witness: string; timestamp: number; line: string }[];
  cosignedNote: string;
};
const VECTOR = JSON.parse(
  readFileSync(repoFile("vectors/cosignatures/example.json"), "utf8"),
) as Vector;
const [W1, W2] = VECTOR.witnesses as [Vector["witnesses"][0], Vector["witnesses"][0]];
const seed = (s: string): Uint8Array => sha256(utf8(s));

describe("vectors/cosignatures/example.json", () => {
  it("reproduces each cosignature line from its key, checkpoint and timestamp", () => {
    for (const c of VECTOR.cosignatures) {
      const w = VECTOR.witnesses.find((x) => x.name === c.witness);
      expect(w).toBeDefined();
      expect(cosignCheckpoint(VECTOR.signedNote, w?.signerKey ?? "", c.timestamp)).toBe(c.line);
    }
  });

  it("verifies the cosigned note under both witness keys", () => {
    expect(
      verifyCosignatures(
        VECTOR.cosignedNote,
        VECTOR.witnesses.map((w) => w.verifierKey),
      ),
    ).toEqual([
      { name: W1.name, keyId: W1.verifierKey.split("+")[1], timestamp: 1764806400, verified: true },
      { name: W2.name, keyId: W2.verifierKey.split("+")[1], timestamp: 1764806401, verified: true },
    ]);
  });

  it("uses verifier keys that the trust policy's parser accepts", () => {
    for (const w of VECTOR.witnesses) {
      expect(parseWitnessKey(w.verifierKey).keyId).toBe(
        parseWitnessVerifierKey(w.verifierKey).keyId,
      );
      expect(witnessVerifierKeyFromSignerKey(w.signerKey)).toBe(w.verifierKey);
    }
  });
});

describe("generateWitnessKey", () => {
  it("derives the key ID from SHA-256(name ‖ \\n ‖ 0x04 ‖ public key)", () => {
    const { verifierKey } = generateWitnessKey("w.example/a", seed("a"));
    const [name, keyId, b64] = verifierKey.split("+") as [string, string, string];
    const raw = base64ToBytes(b64);
    expect(raw[0]).toBe(0x04);
    const digest = sha256(new Uint8Array([...utf8(name), 0x0a, 0x04, ...raw.subarray(1)]));
    expect(Buffer.from(digest.subarray(0, 4)).toString("hex")).toBe(keyId);
  });

  it("is deterministic for a seed and random otherwise", () => {
    expect(generateWitnessKey("w", seed("x"))).toEqual(generateWitnessKey("w", seed("x")));
    expect(generateWitnessKey("w").verifierKey).not.toBe(generateWitnessKey("w").verifierKey);
  });

  it("refuses a bad name or seed", () => {
    expect(codeOf(() => generateWitnessKey("a b"))).toBe("COSIGNATURE_MALFORMED");
    expect(codeOf(() => generateWitnessKey("a+b"))).toBe("COSIGNATURE_MALFORMED");
    expect(codeOf(() => generateWitnessKey("w", new Uint8Array(31)))).toBe("COSIGNATURE_MALFORMED");
  });
});

describe("parseWitnessSignerKey / parseWitnessVerifierKey", () => {
  it("refuses note (0x01) keys, bad IDs and non-canonical base64", () => {
    const log = generateNoteKey("log.example");
    expect(codeOf(() => parseWitnessVerifierKey(log.verifierKey))).toBe("COSIGNATURE_MALFORMED");
    expect(codeOf(() => parseWitnessSignerKey(log.signerKey))).toBe("COSIGNATURE_MALFORMED");
    const [name, , key] = W1.verifierKey.split("+") as [string, string, string];
    expect(codeOf(() => parseWitnessVerifierKey(`${name}+00000000+${key}`))).toBe(
      "COSIGNATURE_MALFORMED",
    );
    expect(codeOf(() => parseWitnessVerifierKey(`${name}+${W1.verifierKey.split("+")[1]}`))).toBe(
      "COSIGNATURE_MALFORMED",
    );
    expect(codeOf(() => parseWitnessSignerKey(W1.verifierKey))).toBe("COSIGNATURE_MALFORMED");
    expect(parseWitnessSignerKey(W1.signerKey).name).toBe(W1.name);
  });
});

describe("cosignatureMessage", () => {
  it("prefixes the header and time lines to the checkpoint body", () => {
    expect(Buffer.from(cosignatureMessage("o\n1\nAA==\n", 7n)).toString()).toBe(
      "cosignature/v1\ntime 7\no\n1\nAA==\n",
    );
  });

  it("refuses timestamps outside [0, 2^63 − 1]", () => {
    expect(codeOf(() => cosignatureMessage("x\n", -1))).toBe("COSIGNATURE_MALFORMED");
    expect(codeOf(() => cosignatureMessage("x\n", 1n << 63n))).toBe("COSIGNATURE_MALFORMED");
    expect(codeOf(() => cosignatureMessage("x\n", 1.5))).toBe("COSIGNATURE_MALFORMED");
    expect(() => cosignatureMessage("x\n", (1n << 63n) - 1n)).not.toThrow();
  });
});

describe("cosignCheckpoint", () => {
  it("signs a bare checkpoint body as it signs the signed note", () => {
    const body = VECTOR.signedNote.slice(0, VECTOR.signedNote.indexOf("\n\n") + 1);
    expect(cosignCheckpoint(body, W1.signerKey, 1764806400)).toBe(VECTOR.cosignatures[0]?.line);
    expect(cosignCheckpoint(body, W1.signerKey, 1764806400n)).toBe(VECTOR.cosignatures[0]?.line);
  });

  it("encodes key ID ‖ big-endian timestamp ‖ 64-byte signature", () => {
    const line = cosignCheckpoint(VECTOR.signedNote, W1.signerKey, 0x0102030405n);
    const bytes = base64ToBytes(line.trimEnd().split(" ")[2]);
    expect(bytes.length).toBe(76);
    expect(Buffer.from(bytes.subarray(0, 4)).toString("hex")).toBe(W1.verifierKey.split("+")[1]);
    expect([...bytes.subarray(4, 12)]).toEqual([0, 0, 0, 1, 2, 3, 4, 5]);
  });

  it("refuses a body that is not a checkpoint and a note (0x01) signer key", () => {
    expect(codeOf(() => cosignCheckpoint("hello\n", W1.signerKey, 1))).toBe("CHECKPOINT_MALFORMED");
    expect(
      codeOf(() => cosignCheckpoint(VECTOR.signedNote, generateNoteKey("w").signerKey, 1)),
    ).toBe("COSIGNATURE_MALFORMED");
  });
});

describe("verifyCosignatures", () => {
  it("ignores lines of other keys (the log's own signature, unknown witnesses)", () => {
    const other = generateWitnessKey("witness.example/other", seed("other"));
    expect(verifyCosignatures(VECTOR.cosignedNote, [other.verifierKey])).toEqual([]);
    expect(verifyCosignatures(VECTOR.signedNote, [W1.verifierKey])).toEqual([]);
  });

  it("reports a matching line with a bad signature as not verified", () => {
    const line = VECTOR.cosignatures[0]?.line ?? "";
    const bytes = base64ToBytes(line.trimEnd().split(" ")[2]);
    bytes[40] = (bytes[40] ?? 0) ^ 1;
    const forged = `— ${W1.name} ${bytesToBase64(bytes)}\n`;
    const note = addSignatureLines(VECTOR.signedNote, [forged]);
    expect(verifyCosignatures(note, [W1.verifierKey])).toEqual([
      {
        name: W1.name,
        keyId: W1.verifierKey.split("+")[1],
        timestamp: 1764806400,
        verified: false,
      },
    ]);
  });

  it("reports a cosignature over another checkpoint as not verified", () => {
    const log = generateNoteKey("chaoscore.local/log/default", seed("log"));
    const other = signCheckpoint(
      { origin: "chaoscore.local/log/default", size: 9, rootHash: seed("r"), extensions: [] },
      log.signerKey,
    );
    const note = addSignatureLines(other, [VECTOR.cosignatures[0]?.line ?? ""]);
    expect(verifyCosignatures(note, [W1.verifierKey])[0]?.verified).toBe(false);
  });

  it("reports a changed timestamp as not verified", () => {
    const bytes = base64ToBytes((VECTOR.cosignatures[0]?.line ?? "").trimEnd().split(" ")[2]);
    bytes[11] = (bytes[11] ?? 0) ^ 1;
    const note = addSignatureLines(VECTOR.signedNote, [`— ${W1.name} ${bytesToBase64(bytes)}`]);
    expect(verifyCosignatures(note, [W1.verifierKey])[0]?.verified).toBe(false);
  });

  it("reports a matching line of the wrong length as not verified", () => {
    const keyId = Buffer.from(W1.verifierKey.split("+")[1] ?? "", "hex");
    const short = `— ${W1.name} ${bytesToBase64(new Uint8Array([...keyId, 1, 2, 3]))}`;
    const note = addSignatureLines(VECTOR.signedNote, [short]);
    expect(verifyCosignatures(note, [W1.verifierKey])).toEqual([
      { name: W1.name, keyId: keyId.toString("hex"), timestamp: 0, verified: false },
    ]);
  });

  it("refuses a malformed note or key with a code", () => {
    expect(codeOf(() => verifyCosignatures("no blank line\n", [W1.verifierKey]))).toBe(
      "COSIGNATURE_MALFORMED",
    );
    expect(
      codeOf(() => verifyCosignatures(`${VECTOR.signedNote}garbage\n`, [W1.verifierKey])),
    ).toBe("COSIGNATURE_MALFORMED");
    expect(codeOf(() => verifyCosignatures(VECTOR.signedNote, [VECTOR.logVerifierKey]))).toBe(
      "COSIGNATURE_MALFORMED",
    );
  });
});

describe("addSignatureLines", () => {
  it("appends after the log's signature and drops duplicates", () => {
    const [l1, l2] = VECTOR.cosignatures.map((c) => c.line) as [string, string];
    const once = addSignatureLines(VECTOR.signedNote, [l1, l2]);
    expect(once).toBe(VECTOR.cosignedNote);
    expect(addSignatureLines(once, [l2, l1.trimEnd(), `${l1}${l2}`])).toBe(VECTOR.cosignedNote);
    expect(addSignatureLines(VECTOR.signedNote, [`${l1}${l2}`])).toBe(VECTOR.cosignedNote);
  });

  it("refuses a line that is not a signature line and leaves the note unchanged", () => {
    expect(codeOf(() => addSignatureLines(VECTOR.signedNote, ["hello"]))).toBe(
      "COSIGNATURE_MALFORMED",
    );
    expect(codeOf(() => addSignatureLines(VECTOR.signedNote, ["— w\rx AAAAAAA="]))).toBe(
      "COSIGNATURE_MALFORMED",
    );
    expect(
      codeOf(() => addSignatureLines("no signatures\n", [VECTOR.cosignatures[0]?.line ?? ""])),
    ).toBe("COSIGNATURE_MALFORMED");
  });

  it("refuses more than 100 signatures", () => {
    const lines = Array.from({ length: 100 }, (_, i) => `— w${i} AAAAAAA=`);
    expect(codeOf(() => addSignatureLines(VECTOR.signedNote, lines))).toBe("COSIGNATURE_MALFORMED");
  });
});
