/**
 * Bytes go into the database as binary parameters (a `Uint8Array`: see
 * binary-params.ts) and come out as hex text (`encode(col, 'hex')` in
 * results): PGlite's own bytea parser converts byte by byte in JavaScript,
 * while Buffer's hex codec is native. `toDbHex` is for the few statements that
 * still take hex text (`decode($n, 'hex')`).
 */
export function toDbHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Decodes hex text from an `encode(col, 'hex')` column. */
export function fromDbHex(hex: string): Uint8Array {
  const buf = Buffer.from(hex, "hex");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * Many byte strings as one parameter `$n`, with the SQL that reads it as a
 * bytea: one Buffer, bound in binary on both back-ends (copied natively: half
 * the bytes of hex and no decoding on the server). Slice the result with
 * `substring(b FROM offset FOR length)`.
 */
export function dbBlob(parts: readonly Uint8Array[], n: number): { sql: string; param: Buffer } {
  return { sql: `$${n}::bytea`, param: Buffer.concat(parts) };
}
