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
});
