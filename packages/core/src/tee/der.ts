/**
 * A strict DER reader (ITU-T X.690 distinguished encoding): single-byte tags,
 * definite minimal lengths, no trailing bytes. Just enough to walk X.509
 * certificates and CRLs; every malformed input is a {@link DerError}.
 *
 * @module
 */

/** One TLV: `tag`, and where its value starts and ends in `data`. */
export type Tlv = { tag: number; start: number; valueStart: number; end: number };

/** Thrown for malformed DER; callers turn it into their coded error. */
export class DerError extends Error {
  override readonly name = "DerError";
}

/** Reads the TLV at `at`, which must end by `limit`. */
export function readTlv(data: Uint8Array, at: number, limit: number = data.length): Tlv {
  const tag = data[at];
  if (tag === undefined || at >= limit) throw new DerError("truncated DER (tag)");
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte DER tags are not supported");
  let p = at + 1;
  const first = data[p++];
  if (first === undefined || p > limit) throw new DerError("truncated DER (length)");
  let length: number;
  if (first < 0x80) length = first;
  else {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new DerError("indefinite or oversized DER length");
    length = 0;
    for (let i = 0; i < count; i++) {
      const b = data[p++];
      if (b === undefined || p > limit) throw new DerError("truncated DER (length)");
      if (i === 0 && b === 0) throw new DerError("non-minimal DER length");
      length = length * 256 + b;
    }
    if (length < 0x80) throw new DerError("non-minimal DER length");
  }
  const end = p + length;
  if (end > limit) throw new DerError("truncated DER (value)");
  return { tag, start: at, valueStart: p, end };
}

/** Reads a whole buffer as exactly one TLV. */
export function readRoot(data: Uint8Array): Tlv {
  const tlv = readTlv(data, 0);
  if (tlv.end !== data.length) throw new DerError("trailing bytes after DER");
  return tlv;
}

/** The TLVs inside a constructed `tlv`, in order. */
export function children(data: Uint8Array, tlv: Tlv): Tlv[] {
  if ((tlv.tag & 0x20) === 0) throw new DerError("a primitive DER value has no children");
  const out: Tlv[] = [];
  for (let at = tlv.valueStart; at < tlv.end; ) {
    const child = readTlv(data, at, tlv.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

/** Requires `tlv` to have `tag`. */
export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (tlv === undefined || tlv.tag !== tag) throw new DerError(`expected ${what}`);
  return tlv;
}

/** The value bytes of a TLV. */
export const contentOf = (data: Uint8Array, tlv: Tlv): Uint8Array =>
  data.subarray(tlv.valueStart, tlv.end);

/** The whole encoding (tag, length, value) of a TLV. */
export const encodingOf = (data: Uint8Array, tlv: Tlv): Uint8Array =>
  data.subarray(tlv.start, tlv.end);

/** Lowercase hex of bytes (no 0x). */
export function hexOf(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * The content of a BIT STRING. Signatures and keys have no unused bits: a
 * non-zero unused-bits byte is refused unless `allowUnusedBits` (named bit
 * lists such as keyUsage), in which case it must be 0..7.
 */
export function bitStringBytes(
  data: Uint8Array,
  tlv: Tlv,
  options: { allowUnusedBits?: boolean } = {},
): Uint8Array {
  expectTag(tlv, 0x03, "BIT STRING");
  const value = contentOf(data, tlv);
  if (value.length === 0) throw new DerError("empty BIT STRING");
  const unused = value[0] as number;
  if (unused > 7 || (unused !== 0 && options.allowUnusedBits !== true)) {
    throw new DerError("a BIT STRING with unused bits where none may be");
  }
  return value.subarray(1);
}

/** A UTCTime (0x17) or GeneralizedTime (0x18) in the DER form `…Z`, as ms since the epoch. */
export function readTime(data: Uint8Array, tlv: Tlv): number {
  const text = String.fromCharCode(...contentOf(data, tlv));
  const utc = tlv.tag === 0x17 ? text.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/) : null;
  const general =
    tlv.tag === 0x18 ? text.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/) : null;
  const m = utc ?? general;
  if (m === null) throw new DerError("not a DER UTCTime/GeneralizedTime");
  const y = Number(m[1]);
  const year = general !== null ? y : y >= 50 ? 1900 + y : 2000 + y;
  const [mo, d, h, mi, s] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) {
    throw new DerError("a DER time is out of range");
  }
  return Date.UTC(year, mo - 1, d, h, mi, s);
}
