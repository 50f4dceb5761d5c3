/**
 * Bytes cross the database boundary as hex text (`decode($n, 'hex')` in SQL,
 * `encode(col, 'hex')` in results): the drivers' own bytea encoders convert
 * byte by byte in JavaScript (PGlite's took a fifth of ingest time), while
 * Buffer's hex codec is native.
 */
export function toDbHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Decodes hex text from an `encode(col, 'hex')` column. */
export function fromDbHex(hex: string): Uint8Array {
  const buf = Buffer.from(hex, "hex");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
