// Named prepared statements on PGlite, for the queries of a transaction (issue
// 14). PGlite's own `query` parses, analyses and plans its statement on every
// call, and speaks to the WebAssembly backend six times (parse, describe,
// bind, describe, execute, sync). Here a statement is parsed and described
// once per text and kept by name; each call is one exchange — bind, execute,
// sync — and Postgres's plan cache may keep a generic plan after five runs.
// Results are parsed as PGlite's `query` parses them (its parsers and
// serializers, text results; a byte view binds in binary, as PGlite binds it).
//
// The three messages of a call are written by bindExecuteSync into one buffer
// that the set keeps and reuses: PGlite's own serializer copies each byte
// parameter four times into new buffers (its value, two writers, the message),
// and V8 counts every new buffer against the heap: on the PGlite worker thread
// that forced a full garbage collection every ≈ 130 ms under ingest
// (docs/benchmarks.md, "PGlite's bind buffers").
//
// Plain JavaScript, so that the PGlite worker thread (pglite-worker.mjs) uses
// it without a TypeScript loader; pglite-db.ts uses it too (types in
// pglite-prepared.d.mts).
import { parse, protocol } from "@electric-sql/pglite";

const { serialize } = protocol;

const encoder = new TextEncoder();
/** Execute (the unnamed portal, every row), then Sync. */
const EXECUTE_SYNC = new Uint8Array([69, 0, 0, 0, 9, 0, 0, 0, 0, 0, 83, 0, 0, 0, 4]);
/** A buffer of a set larger than this is not kept after its call. */
const KEEP_MAX = 8 * 1024 * 1024;

/**
 * Writes Bind (the unnamed portal, statement `name`, text results), Execute
 * and Sync — the bytes PGlite's `serialize.bind`, `serialize.execute({})` and
 * `serialize.sync()` give — into `buffer` when they fit, else into a new
 * buffer (twice as large as `buffer` at least). A value is null (SQL NULL), a
 * byte view (sent in binary) or a string (sent as text), as PGlite's
 * serializers leave it.
 * @returns the messages: a view of `buffer` or of the new one.
 */
export function bindExecuteSync(buffer, name, values) {
  const nameBytes = encoder.encode(name);
  let size = 1 + 4 + 1 + nameBytes.length + 1 + 2 + 2 * values.length + 2 + 2;
  const texts = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) size += 4;
    else if (ArrayBuffer.isView(v)) size += 4 + v.byteLength;
    else {
      texts[i] = encoder.encode(v);
      size += 4 + texts[i].length;
    }
  }
  const total = size + EXECUTE_SYNC.length;
  const out = total <= buffer.length ? buffer : new Uint8Array(Math.max(total, 2 * buffer.length));
  const view = new DataView(out.buffer, out.byteOffset, total);
  out[0] = 66; // 'B'
  view.setInt32(1, size - 1);
  let at = 5;
  out[at++] = 0; // the unnamed portal
  out.set(nameBytes, at);
  at += nameBytes.length;
  out[at++] = 0;
  view.setInt16(at, values.length);
  at += 2;
  for (const v of values) {
    view.setInt16(at, v !== null && ArrayBuffer.isView(v) ? 1 : 0);
    at += 2;
  }
  view.setInt16(at, values.length);
  at += 2;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) {
      view.setInt32(at, -1);
      at += 4;
      continue;
    }
    const bytes = ArrayBuffer.isView(v)
      ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
      : texts[i];
    view.setInt32(at, bytes.length);
    out.set(bytes, at + 4);
    at += 4 + bytes.length;
  }
  view.setInt16(at, 0); // no result format codes: every column in text
  at += 2;
  out.set(EXECUTE_SYNC, at);
  return out.subarray(0, total);
}

/** Most statements kept per database (beyond it, the least recently used is closed). */
export const PREPARED_MAX = 128;

/** Statement names are unique in this thread: two sets on one PGlite never clash. */
let nextName = 0;

/**
 * A statement cached with a result type that changed since (a `SELECT *`
 * over a table altered by a migration): Postgres refuses to run it again.
 */
function isStaleResultType(error) {
  return error?.code === "0A000" && /cached plan must not change result type/.test(error.message);
}

export class PreparedStatements {
  #pg;
  #max;
  /** text → { name, paramTypes, rowDescription } in use order (oldest first). */
  #statements = new Map();
  /** Where each call's messages are written (grown as needed, up to KEEP_MAX). */
  #buffer = new Uint8Array(64 * 1024);

  constructor(pg, max = PREPARED_MAX) {
    this.#pg = pg;
    this.#max = max;
  }

  /** Statements held (for tests). */
  get size() {
    return this.#statements.size;
  }

  /**
   * The rows of `sql` run with `params` in the transaction open on this
   * PGlite (call it from inside the transaction: nothing here begins or
   * syncs one). `serializers` overrides PGlite's by type OID, as the
   * `serializers` option of its `query` does.
   */
  query(sql, params, serializers) {
    return this.#pg.runExclusive(async () => {
      const statement = await this.#statement(sql);
      const types = statement.paramTypes;
      const values = (params ?? []).map((value, i) => {
        if (value === null || value === undefined) return null;
        const serialize = serializers?.[types[i]] ?? this.#pg.serializers[types[i]];
        return serialize ? serialize(value) : value.toString();
      });
      let messages;
      try {
        const bytes = bindExecuteSync(this.#buffer, statement.name, values);
        if (bytes.buffer !== this.#buffer.buffer && bytes.length <= KEEP_MAX) {
          this.#buffer = new Uint8Array(bytes.buffer);
        }
        // PGlite reads the bytes before this call returns (runExclusive keeps
        // the next call out until then), so the buffer is free again after it.
        messages = await this.#pg.execProtocolStream(bytes, { syncToFs: false });
      } catch (error) {
        if (isStaleResultType(error)) await this.#forget(sql).catch(() => undefined);
        throw error;
      }
      const results = parse.parseResults(
        statement.rowDescription === undefined ? messages : [statement.rowDescription, ...messages],
        this.#pg.parsers,
      );
      return results[0]?.rows ?? [];
    });
  }

  async #statement(sql) {
    const held = this.#statements.get(sql);
    if (held !== undefined) {
      this.#statements.delete(sql);
      this.#statements.set(sql, held);
      return held;
    }
    if (this.#statements.size >= this.#max) {
      await this.#forget(this.#statements.keys().next().value);
    }
    const name = `chaoscore_${nextName++}`;
    const messages = await this.#pg.execProtocolStream(
      Buffer.concat([
        serialize.parse({ name, text: sql, types: [] }),
        serialize.describe({ type: "S", name }),
        serialize.sync(),
      ]),
      { syncToFs: false },
    );
    const statement = {
      name,
      paramTypes: messages.find((m) => m.name === "parameterDescription")?.dataTypeIDs ?? [],
      rowDescription: messages.find((m) => m.name === "rowDescription"),
    };
    this.#statements.set(sql, statement);
    return statement;
  }

  async #forget(sql) {
    const statement = this.#statements.get(sql);
    if (statement === undefined) return;
    this.#statements.delete(sql);
    await this.#pg.execProtocolStream(
      Buffer.concat([serialize.close({ type: "S", name: statement.name }), serialize.sync()]),
      { syncToFs: false },
    );
  }
}
