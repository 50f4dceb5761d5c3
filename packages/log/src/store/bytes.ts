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

/**
 * Many byte strings as one parameter for `db`, with the SQL that turns
 * parameter `$n` into a bytea: on a Postgres server a Buffer (node-postgres
 * sends it in binary, copied natively: half the bytes of hex on the socket and
 * no decoding on the server), on PGlite hex text decoded by the server
 * (its own bytea encoder is JavaScript, byte by byte). Slice the result with
 * `substring(b FROM offset FOR length)`.
 */
export function dbBlob(
  db: { readonly kind: "pglite" | "postgres" },
  parts: readonly Uint8Array[],
  n: number,
): { sql: string; param: Buffer | string } {
  if (db.kind === "postgres") return { sql: `$${n}::bytea`, param: Buffer.concat(parts) };
  return { sql: `decode($${n}, 'hex')`, param: parts.map(toDbHex).join("") };
}
