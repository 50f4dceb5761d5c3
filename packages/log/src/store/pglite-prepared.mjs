// Named prepared statements on PGlite, for the queries of a transaction (issue
// 14). PGlite's own `query` parses, analyses and plans its statement on every
// call, and speaks to the WebAssembly backend six times (parse, describe,
// bind, describe, execute, sync). Here a statement is parsed and described
// once per text and kept by name; each call is one exchange — bind, execute,
// sync — and Postgres's plan cache may keep a generic plan after five runs.
// Results are parsed as PGlite's `query` parses them (its parsers and
// serializers, text results; a byte view binds in binary, as PGlite binds it).
//
// Plain JavaScript, so that the PGlite worker thread (pglite-worker.mjs) uses
// it without a TypeScript loader; pglite-db.ts uses it too (types in
// pglite-prepared.d.mts).
import { parse, protocol } from "@electric-sql/pglite";

const { serialize } = protocol;

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
        messages = await this.#pg.execProtocolStream(
          Buffer.concat([
            serialize.bind({ statement: statement.name, values }),
            serialize.execute({}),
            serialize.sync(),
          ]),
          { syncToFs: false },
        );
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
