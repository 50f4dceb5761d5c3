// Worker thread of PgliteWorkerDb (pglite-worker-db.ts): runs PGlite — Postgres
// compiled to WebAssembly — off the main thread. Plain JavaScript on purpose, so
// that it runs without a TypeScript loader (like agency/recover-worker.mjs).
//
// workerData: { dataDir?: string } (undefined: in memory). The data-dir lock is
// held by the main thread, which opened this worker.
// First message out: { ready: true } or { ready: false, error }.
// Requests in: { id, op: "query", sql, params, tx? } | { id, op: "exec", sql, tx? }
//   | { id, op: "begin" } (answered once the transaction holds PGlite; its id is
//   the transaction's) | { id, op: "end", tx, commit } | { id, op: "close" }.
// Answers out: { id, rows? } or { id, error: { message, name, stack, fields } },
// `fields` the driver error's own primitive properties (code, constraint, …:
// what storeError classifies). Values cross as structured clones: Uint8Array,
// bigint, Date, JSON objects survive. A Uint8Array parameter binds in binary
// (Postgres's send format of its type), as on a Postgres server.
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";
import { PreparedStatements } from "./pglite-prepared.mjs";

/** A driver error as plain data (structured clone keeps only name and message of an Error). */
function errorData(error) {
  const e = error ?? {};
  const fields = {};
  if (typeof e === "object") {
    for (const key of Object.keys(e)) {
      const v = e[key];
      if (v === null || ["string", "number", "boolean"].includes(typeof v)) fields[key] = v;
    }
  }
  return {
    message: typeof e.message === "string" ? e.message : String(error),
    name: typeof e.name === "string" ? e.name : "Error",
    stack: typeof e.stack === "string" ? e.stack : undefined,
    fields,
  };
}

/** Thrown into PGlite's transaction callback to roll it back. */
const ROLLBACK = Symbol("rollback");

/** Open transactions: id → { tx, finish(commit), done }. */
const transactions = new Map();

let pg;
let prepared;
try {
  pg = workerData?.dataDir === undefined ? new PGlite() : new PGlite(workerData.dataDir);
  await pg.waitReady;
  prepared = new PreparedStatements(pg);
  parentPort.postMessage({ ready: true });
} catch (error) {
  parentPort.postMessage({ ready: false, error: errorData(error) });
}

// PGlite's serializers, except that a byte view passes through and binds in
// binary — the same rule as binaryFirstSerializers in binary-params.ts, which
// this plain-JavaScript worker cannot import.
const binaryFirst = new Proxy(
  {},
  {
    get(_, oid) {
      if (typeof oid !== "string") return undefined;
      return (value) => {
        if (ArrayBuffer.isView(value)) return value;
        const own = pg.serializers[oid];
        return own === undefined ? String(value) : own(value);
      };
    },
  },
);

function handleOf(tx) {
  if (tx === undefined) return pg;
  const open = transactions.get(tx);
  if (open === undefined) throw new Error("Transaction is closed");
  return open.tx;
}

function begin(id) {
  return new Promise((started, failed) => {
    const entry = { tx: undefined, finish: undefined, done: undefined };
    const decided = new Promise((resolve) => {
      entry.finish = resolve;
    });
    entry.done = pg.transaction(async (tx) => {
      entry.tx = tx;
      transactions.set(id, entry);
      started(undefined);
      if (!(await decided)) throw ROLLBACK;
    });
    // `done` settles after the callback: COMMIT's result, or the rollback.
    entry.done.then(
      () => transactions.delete(id),
      (error) => {
        if (entry.tx === undefined) failed(error); // BEGIN itself failed
        transactions.delete(id);
      },
    );
  });
}

async function end(tx, commit) {
  const open = transactions.get(tx);
  if (open === undefined) throw new Error("Transaction is closed");
  open.finish(commit);
  try {
    await open.done;
  } catch (error) {
    if (error !== ROLLBACK) throw error;
  }
}

async function handle(message) {
  switch (message.op) {
    case "query": {
      const serializers = message.params?.some((p) => ArrayBuffer.isView(p))
        ? binaryFirst
        : undefined;
      // In a transaction, through a named prepared statement (pglite-prepared.mjs).
      if (message.tx !== undefined) {
        handleOf(message.tx); // throws when the transaction has ended
        return prepared.query(message.sql, message.params, serializers);
      }
      return (
        await pg.query(
          message.sql,
          message.params,
          serializers === undefined ? undefined : { serializers },
        )
      ).rows;
    }
    case "exec":
      await handleOf(message.tx).exec(message.sql);
      return undefined;
    case "begin":
      return begin(message.id);
    case "end":
      return end(message.tx, message.commit);
    case "close":
      await pg.close();
      return undefined;
    default:
      throw new Error(`unknown request ${message.op}`);
  }
}

parentPort.on("message", (message) => {
  handle(message).then(
    (rows) =>
      parentPort.postMessage(rows === undefined ? { id: message.id } : { id: message.id, rows }),
    (error) => parentPort.postMessage({ id: message.id, error: errorData(error) }),
  );
});
