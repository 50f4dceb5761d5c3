/**
 * Database errors as coded errors, the same for both back-ends (PGlite and a
 * Postgres server). Only a failure to reach the database is retryable
 * (`STORE_UNAVAILABLE`); a constraint violation is a conflict with a code of
 * its own (or the domain's code for the constraints that have one); anything
 * else is a query the server refused — a bug, `STORE_QUERY_FAILED`. No
 * message carries the database's own text (SQL, table or constraint names):
 * that stays in `cause`, for the server's log.
 * @module
 */
import { ChaosCoreError, type ErrorCode } from "@chaoscore/core";

/** Node's socket errors that mean the server cannot be reached. */
const NETWORK_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNABORTED",
]);

/** Messages of the drivers (pg, PGlite) for a lost or closed connection (they carry no SQLSTATE). */
const CONNECTION_MESSAGE =
  /connection (terminated|ended|closed|lost|refused|timeout)|timeout exceeded when trying to connect|client has encountered a connection error|not queryable|cannot use a pool after calling end|pglite is closed|database is closed/i;

/** Unique constraints whose violation has a domain code (a race lost to a concurrent write). */
const CONSTRAINT_CODES: Readonly<Record<string, ErrorCode>> = {
  agents_pkey: "AGENT_ALREADY_REGISTERED",
  studios_pkey: "STUDIO_EXISTS",
  outcomes_action_id_key: "AGENCY_OUTCOME_EXISTS",
  outcomes_action_evaluator_key: "AGENCY_OUTCOME_EXISTS",
};

/** What kind of failure a database error is. */
export type StoreFailure = "unavailable" | "conflict" | "constraint" | "input" | "query";

/**
 * SQLSTATEs of a value the database cannot hold as given: 22021 (a byte
 * sequence invalid in the encoding, e.g. a NUL character in text), 22P05 (a
 * character with no equivalent in the encoding), 22007, 22008 and 22009 (a
 * date-time out of Postgres's range or with an offset it refuses). The
 * request's input is at fault, not the query: a route that validates its input
 * never lets one through, and one that slips past is answered as bad input
 * rather than as a server fault.
 */
const UNSTORABLE_VALUE = new Set(["22021", "22P05", "22007", "22008", "22009"]);

/** Classifies a driver error by its SQLSTATE (or, without one, its errno / message). */
export function classifyStoreError(cause: unknown): StoreFailure {
  const e = (cause ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  if (/^[0-9A-Z]{5}$/.test(code)) {
    const cls = code.slice(0, 2);
    // 08 connection exception, 53 insufficient resources (too many connections,
    // out of memory, disk full), 57P01–57P05 the server is shutting down or restarting.
    if (cls === "08" || cls === "53" || /^57P0[1-5]$/.test(code)) return "unavailable";
    // 40001 serialization failure, 40P01 deadlock: a transient conflict.
    if (cls === "40") return "conflict";
    if (cls === "23") return "constraint";
    if (UNSTORABLE_VALUE.has(code)) return "input";
    return "query";
  }
  if (NETWORK_ERRNOS.has(code)) return "unavailable";
  if (typeof e.message === "string" && CONNECTION_MESSAGE.test(e.message)) return "unavailable";
  return "query";
}

/**
 * The coded error of a database failure (a `ChaosCoreError` passes through).
 * `cause` keeps the driver's error for the server's log; the message and
 * details name nothing of the schema.
 */
export function storeError(cause: unknown): ChaosCoreError {
  if (cause instanceof ChaosCoreError) return cause;
  switch (classifyStoreError(cause)) {
    case "unavailable":
      return new ChaosCoreError("STORE_UNAVAILABLE", "the database cannot be reached; retry", {
        cause,
      });
    case "conflict":
      return new ChaosCoreError(
        "STORE_CONFLICT",
        "the write conflicted with a concurrent one; retry",
        { cause },
      );
    case "constraint": {
      const constraint = (cause as { constraint?: unknown }).constraint;
      const domain = typeof constraint === "string" ? CONSTRAINT_CODES[constraint] : undefined;
      return new ChaosCoreError(
        domain ?? "STORE_CONSTRAINT_VIOLATION",
        domain === undefined
          ? "the write conflicts with data already stored"
          : "it exists already (a concurrent request stored it first)",
        { cause },
      );
    }
    case "input":
      return new ChaosCoreError(
        "INVALID_INPUT",
        "a value cannot be stored as given (a NUL character, bytes invalid in UTF-8, or a time out of range)",
        { cause },
      );
    default:
      return new ChaosCoreError(
        "STORE_QUERY_FAILED",
        "the database refused the operation; the server log has the details",
        { cause },
      );
  }
}
