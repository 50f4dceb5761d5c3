import { Buffer } from "node:buffer";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as node from "./hex.js";

afterEach(() => {
  vi.unstubAllGlobals();
});

/** hex.js as a browser loads it: no Node Buffer in globalThis. */
async function browserHex(): Promise<typeof node> {
  vi.resetModules();
  vi.stubGlobal("Buffer", undefined);
  return import("./hex.js");
}

describe("hex.ts without Node's Buffer (browsers)", () => {
  it("encodes and decodes hex and base64 exactly as with Buffer", async () => {
    const web = await browserHex();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        expect(web.bytesToHex(bytes)).toBe(node.bytesToHex(bytes));
        expect(web.hexOf(bytes)).toBe(node.hexOf(bytes));
        expect(web.hexToBytes(node.bytesToHex(bytes))).toEqual(bytes);
        const b64 = node.bytesToBase64(bytes);
        expect(web.bytesToBase64(bytes)).toBe(b64);
        expect(web.base64ToBytes(b64)).toEqual(bytes);
      }),
    );
  });

  it("refuses non-canonical base64 and counts UTF-8 bytes the same way", async () => {
    const web = await browserHex();
    for (const bad of ["QQ=", "QR==", "Q===", "@@@@", "QUI"]) {
      expect(() => web.base64ToBytes(bad)).toThrow(/canonical/);
      expect(() => node.base64ToBytes(bad)).toThrow(/canonical/);
    }
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (text) => {
        expect(web.utf8Length(text)).toBe(node.utf8Length(text));
      }),
    );
  });

  it("accepts exactly the texts of the padded base64 grammar, anywhere a character goes wrong", async () => {
    const web = await browserHex();
    // the grammar of RFC 4648 §4 with padding, as a regular expression (the decoder checks it in its one pass)
    const GRAMMAR = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
    const chars = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"];
    // mostly base64 digits and padding, with now and then a character that is neither
    const text = fc
      .array(
        fc.oneof(
          { weight: 12, arbitrary: fc.constantFrom(...chars) },
          { weight: 3, arbitrary: fc.constant("=") },
          {
            weight: 1,
            arbitrary: fc.constantFrom("-", "_", " ", "\n", "\u0000", "é", "€", "\u{1f600}"),
          },
        ),
        { maxLength: 16 },
      )
      .map((cs) => cs.join(""));
    fc.assert(
      fc.property(text, (b64) => {
        const canonical =
          GRAMMAR.test(b64) && Buffer.from(Buffer.from(b64, "base64")).toString("base64") === b64;
        for (const impl of [node, web]) {
          if (canonical)
            expect(impl.base64ToBytes(b64)).toEqual(new Uint8Array(Buffer.from(b64, "base64")));
          else expect(() => impl.base64ToBytes(b64)).toThrow(/canonical/);
        }
      }),
      { numRuns: 3000 },
    );
    for (const bad of [undefined, null, 44, ["QQ=="]]) {
      expect(() => node.base64ToBytes(bad)).toThrow(/canonical/);
    }
    expect(node.base64ToBytes("")).toEqual(new Uint8Array(0));
  });

  it("accepts base64 exactly when it is the one encoding of its bytes (stray bits refused)", async () => {
    const web = await browserHex();
    const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    // any well-formed padded text, its last data character free (so stray bits occur)
    const text = fc
      .tuple(
        fc.array(fc.constantFrom(...B64), { maxLength: 12 }),
        fc.constantFrom("", "=", "=="),
        fc.array(fc.constantFrom(...B64), { minLength: 4, maxLength: 4 }),
      )
      .map(([body, pad, last]) => {
        const whole = body.slice(0, body.length - (body.length % 4)).join("");
        return whole + last.slice(0, 4 - pad.length).join("") + pad;
      });
    let strays = 0;
    fc.assert(
      fc.property(text, (b64) => {
        const canonical = node.bytesToBase64(Uint8Array.from(Buffer.from(b64, "base64"))) === b64;
        if (!canonical) strays++;
        for (const impl of [node, web]) {
          if (canonical)
            expect(impl.base64ToBytes(b64)).toEqual(Uint8Array.from(Buffer.from(b64, "base64")));
          else expect(() => impl.base64ToBytes(b64)).toThrow(/canonical/);
        }
      }),
      { numRuns: 500 },
    );
    expect(strays).toBeGreaterThan(0);
  });
});
