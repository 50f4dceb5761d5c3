import {
  ed25519Backend,
  generateNoteKey,
  NOBLE_ED25519,
  openNote,
  parseVerifierKey,
  setEd25519Backend,
  signNote,
  utf8,
} from "@chaoscore/core";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { NODE_ED25519, useNodeEd25519 } from "./node-ed25519.js";

afterEach(() => {
  setEd25519Backend(NOBLE_ED25519);
});

describe("NODE_ED25519", () => {
  it("signs the same bytes as noble and each verifies the other's signatures", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array(), (seed, msg) => {
        const sig = NODE_ED25519.sign(msg, seed);
        expect(sig).toEqual(NOBLE_ED25519.sign(msg, seed));
        const { verifierKey } = generateNoteKey("k", seed);
        const pub = parseVerifierKey(verifierKey).publicKey;
        expect(NODE_ED25519.verify(sig, msg, pub)).toBe(true);
        const bad = sig.slice();
        bad[0] = (bad[0] ?? 0) ^ 1;
        expect(NODE_ED25519.verify(bad, msg, pub)).toBe(false);
        expect(NOBLE_ED25519.verify(bad, msg, pub)).toBe(false);
      }),
      { numRuns: 25 },
    );
  });

  it("once installed, notes are signed and opened through it, byte for byte as before", () => {
    const { signerKey, verifierKey } = generateNoteKey("note.test");
    const before = signNote("hello\n", signerKey);
    useNodeEd25519();
    expect(ed25519Backend().name).toBe("node:crypto");
    expect(signNote("hello\n", signerKey)).toBe(before);
    expect(openNote(before, verifierKey).text).toBe("hello\n");
    expect(NODE_ED25519.verify(new Uint8Array(64), utf8("x"), new Uint8Array(32))).toBe(false);
  });
});
