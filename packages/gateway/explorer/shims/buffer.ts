/**
 * The few Node `Buffer` operations @chaoscore/core performs (hex and base64
 * codecs, UTF-8 byte length), for the browser bundle. esbuild injects it
 * where core names the global `Buffer`. Anything else throws, so a new use in
 * core fails loudly in the explorer's test rather than silently.
 * @module
 */
type Encoding = "hex" | "base64" | "utf8";

const encoder = new TextEncoder();

/** Bytes whose `toString` takes Node's encodings. */
class Bytes extends Uint8Array {
  override toString(encoding: Encoding = "utf8"): string {
    if (encoding === "hex") {
      let s = "";
      for (const b of this) s += b.toString(16).padStart(2, "0");
      return s;
    }
    if (encoding === "base64") {
      let binary = "";
      for (const b of this) binary += String.fromCharCode(b);
      return btoa(binary);
    }
    if (encoding === "utf8") return new TextDecoder().decode(this);
    throw new Error(`Buffer shim: unsupported encoding ${String(encoding)}`);
  }
}

function fromHex(text: string): Bytes {
  // Node's decoder stops at the first non-hex pair; core passes only checked hex.
  const out: number[] = [];
  for (let i = 0; i + 1 < text.length; i += 2) {
    const pair = text.slice(i, i + 2);
    if (!/^[0-9a-fA-F]{2}$/.test(pair)) break;
    out.push(Number.parseInt(pair, 16));
  }
  return new Bytes(out);
}

function fromBase64(text: string): Bytes {
  // Lenient like Node's decoder; core re-encodes to check the text is canonical.
  const clean = text.replace(/[^A-Za-z0-9+/]/g, "");
  const usable = clean.length % 4 === 1 ? clean.slice(0, -1) : clean;
  const binary = atob(usable + "=".repeat((4 - (usable.length % 4)) % 4));
  const out = new Bytes(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export const Buffer = {
  from(
    value: string | ArrayBufferLike | Uint8Array,
    encodingOrOffset?: Encoding | number,
    length?: number,
  ): Bytes {
    if (typeof value === "string") {
      const encoding = encodingOrOffset ?? "utf8";
      if (encoding === "hex") return fromHex(value);
      if (encoding === "base64") return fromBase64(value);
      if (encoding === "utf8") return new Bytes(encoder.encode(value));
      throw new Error(`Buffer shim: unsupported encoding ${String(encoding)}`);
    }
    if (value instanceof Uint8Array) return new Bytes(value);
    const offset = typeof encodingOrOffset === "number" ? encodingOrOffset : 0;
    return new Bytes(new Uint8Array(value, offset, length ?? value.byteLength - offset));
  },

  byteLength(text: string, encoding: Encoding = "utf8"): number {
    if (encoding !== "utf8") throw new Error(`Buffer shim: byteLength(${encoding})`);
    return encoder.encode(text).length;
  },
};
