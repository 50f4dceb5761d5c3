import { createHash } from "node:crypto";
import { keccak_256 } from "@noble/hashes/sha3.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keccak256, keccak256Hex, sha256, sha256Concat, sha256Hex, utf8 } from "./hash.js";
import { bytesToHex } from "./hex.js";

describe("keccak256", () => {
  it("matches the known hash of the empty string", () => {
    expect(keccak256Hex("")).toBe(
      "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
    );
  });
  it("equals @noble/hashes on random input (strings hash their UTF-8)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.string(), (bytes, text) => {
        expect(keccak256(bytes)).toEqual(keccak_256(bytes));
        expect(keccak256(text)).toEqual(keccak_256(utf8(text)));
      }),
    );
  });
});

describe("sha256", () => {
  it("equals node:crypto on random input", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(sha256Hex(bytes)).toBe(`0x${createHash("sha256").update(bytes).digest("hex")}`);
      }),
    );
  });
  it("gives the same digest through OpenSSL (long inputs) and hash-wasm (short), whole or in parts", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), fc.nat(1200), (bytes, cut) => {
        const want = `0x${createHash("sha256").update(bytes).digest("hex")}`;
        const at = Math.min(cut, bytes.length);
        const parts = [bytes.subarray(0, at), bytes.subarray(at)];
        expect([bytesToHex(sha256(bytes)), bytesToHex(sha256Concat(parts))]).toEqual([want, want]);
        expect(Object.getPrototypeOf(sha256(bytes))).toBe(Uint8Array.prototype);
      }),
      { numRuns: 300 },
    );
  });
  it("hashes a string's UTF-8, short (hash-wasm) or long (OpenSSL), lone surrogates as U+FFFD", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 400 }),
        fc.string({ unit: "grapheme", minLength: 200, maxLength: 400 }),
        (text, long) => {
          for (const s of [text, long, `\u0000${long}`, `${long}\ud800`]) {
            const want = `0x${createHash("sha256").update(new TextEncoder().encode(s)).digest("hex")}`;
            expect(sha256Hex(s)).toBe(want);
            expect(Object.getPrototypeOf(sha256(s))).toBe(Uint8Array.prototype);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
  it("returns a fresh array each call", () => {
    const a = sha256("a");
    const b = sha256("b");
    expect(bytesToHex(a)).not.toBe(bytesToHex(b));
  });
});
