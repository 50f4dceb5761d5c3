/**
 * Parameters in Postgres's binary format. A `Uint8Array` parameter (a Buffer
 * too) travels as binary on both back-ends — node-postgres sends it so, and
 * the PGlite drivers pass it through ({@link binaryFirstSerializers}) — and
 * the server reads it with the receive function of the parameter's type. The
 * hot inserts send their arrays this way: no text to build in JavaScript, no
 * array literal to parse on the server (in WebAssembly, on PGlite).
 * @module
 */

/** Element types of {@link pgArray}, with their OIDs. */
const ELEMENT_OID = { int2: 21, int4: 23, int8: 20, float8: 701, text: 25, bytea: 17 } as const;

/** An element type {@link pgArray} encodes. */
export type PgElementType = keyof typeof ELEMENT_OID;

type ElementOf<T extends PgElementType> = T extends "text"
  ? string
  : T extends "bytea"
    ? Uint8Array
    : T extends "int8"
      ? number | bigint
      : number;

const FIXED_WIDTH: Partial<Record<PgElementType, number>> = {
  int2: 2,
  int4: 4,
  int8: 8,
  float8: 8,
};

/**
 * A one-dimensional array of `type` in Postgres's binary array format
 * (`array_send`: dimensions, null flag, element OID, then each element as its
 * length and bytes; `null` is length −1). The SQL casts the parameter to the
 * same array type (`$n::bigint[]`); the server refuses another element type.
 * @throws RangeError when a number does not fit the type (an integer type given
 *   a fraction, or a value outside its range).
 */
export function pgArray<T extends PgElementType>(
  type: T,
  values: readonly (ElementOf<T> | null)[],
): Buffer {
  const width = FIXED_WIDTH[type];
  const texts = type === "text" ? (values as readonly (string | null)[]) : undefined;
  let size = 20;
  for (const v of values) {
    size += 4;
    if (v === null) continue;
    if (width !== undefined) size += width;
    else if (texts !== undefined) size += Buffer.byteLength(v as string, "utf8");
    else size += (v as Uint8Array).byteLength;
  }
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(1, 0); // one dimension
  out.writeInt32BE(values.includes(null) ? 1 : 0, 4);
  out.writeInt32BE(ELEMENT_OID[type], 8);
  out.writeInt32BE(values.length, 12);
  out.writeInt32BE(1, 16); // lower bound
  let at = 20;
  for (const v of values) {
    if (v === null) {
      out.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    if ((type === "int2" || type === "int4") && !Number.isInteger(v)) {
      throw new RangeError(`${String(v)} is not an integer (${type})`);
    }
    switch (type) {
      case "int2":
        out.writeInt32BE(2, at);
        out.writeInt16BE(v as number, at + 4);
        at += 6;
        break;
      case "int4":
        out.writeInt32BE(4, at);
        out.writeInt32BE(v as number, at + 4);
        at += 8;
        break;
      case "int8":
        out.writeInt32BE(8, at);
        out.writeBigInt64BE(typeof v === "bigint" ? v : BigInt(v as number), at + 4);
        at += 12;
        break;
      case "float8":
        out.writeInt32BE(8, at);
        out.writeDoubleBE(v as number, at + 4);
        at += 12;
        break;
      case "text": {
        const n = out.write(v as string, at + 4, "utf8");
        out.writeInt32BE(n, at);
        at += 4 + n;
        break;
      }
      default: {
        const bytes = v as Uint8Array;
        out.writeInt32BE(bytes.byteLength, at);
        out.set(bytes, at + 4);
        at += 4 + bytes.byteLength;
      }
    }
  }
  return out;
}

/** The serializers PGlite's `query` reads a parameter's by OID from. */
type SerializerTable = Record<number | string, ((value: unknown) => unknown) | undefined>;

/**
 * PGlite's serializers, except that a `Uint8Array` parameter is passed
 * through as it is: PGlite then binds it in binary (its protocol does so for
 * any byte view), as node-postgres does with a Buffer. Pass as the
 * `serializers` option of a query whose parameters include bytes; nested
 * values (the elements of a JavaScript array) keep PGlite's own serializers.
 */
export function binaryFirstSerializers(pg: { serializers: SerializerTable }): SerializerTable {
  const wrapped = new Map<string, (value: unknown) => unknown>();
  return new Proxy({} as SerializerTable, {
    get(_, oid) {
      if (typeof oid !== "string") return undefined;
      let serialize = wrapped.get(oid);
      if (serialize === undefined) {
        serialize = (value) => {
          if (ArrayBuffer.isView(value)) return value;
          const own = pg.serializers[oid];
          return own === undefined ? String(value) : own(value);
        };
        wrapped.set(oid, serialize);
      }
      return serialize;
    },
  });
}

/** Whether `params` holds a byte view (then {@link binaryFirstSerializers} applies). */
export function hasBinaryParam(params: readonly unknown[] | undefined): boolean {
  return params?.some((p) => ArrayBuffer.isView(p)) ?? false;
}
