/**
 * Errors as RFC 9457 problem details. The one place where error codes become
 * HTTP statuses: everything a client sends that is wrong is a 4xx with a code;
 * only a bug is a 500 (GATEWAY_INTERNAL).
 * @module
 */
import { ChaosCoreError, type ErrorCode, isChaosCoreError } from "@chaoscore/core";

/** The media type of every error answer. */
export const PROBLEM_MEDIA_TYPE = "application/problem+json";

/** Where the `type` URIs point: the code's anchor in docs/errors.md. */
export const PROBLEM_TYPE_BASE = "https://github.com/chaoscore/chaoscore/blob/main/docs/errors.md#";

/** An RFC 9457 problem, with ChaosCore's extension members. */
export type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ErrorCode;
  requestId: string;
  retryable: boolean;
  details?: Record<string, unknown>;
};

const EXACT: Partial<Record<ErrorCode, number>> = {
  GATEWAY_UNSUPPORTED_MEDIA_TYPE: 415,
  GATEWAY_PAYLOAD_TOO_LARGE: 413,
  GATEWAY_HEADERS_TOO_LARGE: 431,
  GATEWAY_METHOD_NOT_ALLOWED: 405,
  GATEWAY_URI_TOO_LONG: 414,
  AGENCY_PAYLOAD_TOO_LARGE: 413,
  AGENCY_ENTRY_TOO_LARGE: 413,
  GATEWAY_UNAUTHENTICATED: 401,
  GATEWAY_API_KEY_INVALID: 401,
  GATEWAY_REQUEST_SIGNATURE_INVALID: 401,
  GATEWAY_REQUEST_EXPIRED: 401,
  GATEWAY_REQUEST_WRONG_ORIGIN: 401,
  GATEWAY_REGISTRATION_REFUSED: 403,
  AGENCY_OUTCOME_NOT_AUTHORIZED: 403,
  AGENCY_NONCE_GAP_TOO_LARGE: 409,
  GATEWAY_FORBIDDEN: 403,
  AGENT_NOT_ACTIVE: 403,
  STUDIO_NOT_MEMBER: 403,
  STUDIO_ROLE_FORBIDDEN: 403,
  GATEWAY_REQUEST_REPLAYED: 409,
  GATEWAY_IDEMPOTENCY_KEY_IN_USE: 409,
  AGENT_ALREADY_REGISTERED: 409,
  AGENT_NONCE_NOT_INCREASING: 409,
  AGENCY_NONCE_NOT_INCREASING: 409,
  AGENCY_OUTCOME_EXISTS: 409,
  AGENT_STATUS_TRANSITION_INVALID: 409,
  STUDIO_EXISTS: 409,
  GATEWAY_LAST_ADMIN_KEY: 409,
  GATEWAY_API_KEY_SELF_REVOKE: 409,
  STUDIO_TASK_EXISTS: 409,
  STUDIO_ARCHIVED: 409,
  STUDIO_TRANSITION_INVALID: 409,
  STUDIO_TASK_BLOCKED: 409,
  STUDIO_TASK_EXPIRED: 409,
  STUDIO_RETRIES_EXHAUSTED: 409,
  STUDIO_BUDGET_EXCEEDED: 409,
  STUDIO_VOTE_INVALID: 409,
  ANCHOR_LOG_MISMATCH: 409,
  LOG_SHARD_FROZEN: 409,
  GATEWAY_IDEMPOTENCY_KEY_REUSED: 422,
  EXECUTION_COMPILE_ERROR: 422,
  EXECUTION_CODE_ERROR: 422,
  EXECUTION_TIMEOUT: 422,
  EXECUTION_CPU_LIMIT: 422,
  EXECUTION_MEMORY_LIMIT: 422,
  EXECUTION_STACK_OVERFLOW: 422,
  EXECUTION_OUTPUT_TOO_LARGE: 422,
  EXECUTION_LOG_TOO_LARGE: 422,
  EXECUTION_BAD_OUTPUT: 422,
  EXECUTION_REPLAY_MISMATCH: 422,
  GATEWAY_RATE_LIMITED: 429,
  GATEWAY_INTERNAL: 500,
  LOG_AUDIT_FAILED: 500,
  STORE_MIGRATION_FAILED: 500,
  GATEWAY_FEATURE_DISABLED: 404,
  CHAIN_RPC_ERROR: 502,
  CHAIN_REVERTED: 502,
  CHAIN_TX_REJECTED: 502,
  CHAIN_NOT_DEPLOYED: 502,
  CHAIN_WRONG_CHAIN: 502,
  CHAIN_INSUFFICIENT_FUNDS: 502,
  STORE_UNAVAILABLE: 503,
  STORE_CONFLICT: 409,
  STORE_CONSTRAINT_VIOLATION: 409,
  STORE_QUERY_FAILED: 500,
  CHAIN_RPC_UNREACHABLE: 503,
  EXECUTION_SANDBOX_FAILURE: 503,
  GATEWAY_NOT_READY: 503,
  AGENCY_QUEUE_FULL: 503,
  AGENCY_VERIFIER_UNAVAILABLE: 503,
  LOG_NOT_YET_CHECKPOINTED: 503,
  CHAIN_TIMEOUT: 504,
};

/** The HTTP status of an error code. */
export function statusOf(code: ErrorCode): number {
  const exact = EXACT[code];
  if (exact !== undefined) return exact;
  if (code.endsWith("_NOT_FOUND") || code === "REPUTATION_SCORE_NOT_IN_EPOCH") return 404;
  return 400;
}

/** True when sending the same request again may succeed. */
export function isRetryable(status: number, code?: ErrorCode): boolean {
  return (
    status === 429 ||
    status === 503 ||
    status === 504 ||
    code === "GATEWAY_IDEMPOTENCY_KEY_IN_USE" ||
    code === "STORE_CONFLICT"
  );
}

/** Throws a coded error (routes use it for their own checks). */
export function fail(code: ErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new ChaosCoreError(code, message, details === undefined ? {} : { details });
}

/** The problem document of an error (a non-ChaosCore error is GATEWAY_INTERNAL, its message hidden). */
export function toProblem(error: unknown, instance: string, requestId: string): Problem {
  const known = isChaosCoreError(error)
    ? error
    : new ChaosCoreError("GATEWAY_INTERNAL", "internal error; the server log has the details");
  const status = statusOf(known.code);
  return {
    type: `${PROBLEM_TYPE_BASE}${known.code.toLowerCase()}`,
    title: known.code,
    status,
    detail: known.message,
    instance,
    code: known.code,
    requestId,
    retryable: isRetryable(status, known.code),
    ...(known.details === undefined ? {} : { details: { ...known.details } }),
  };
}
