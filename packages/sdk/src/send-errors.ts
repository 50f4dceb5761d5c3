/**
 * What a failed send of a signed entry means: worth a retry (the same signed
 * entry, recorded at most once), or a refusal (the log recorded nothing).
 * @module
 */
import { isChaosCoreError } from "@chaoscore/core";

const RETRYABLE_CODES = new Set<string>([
  "STORE_UNAVAILABLE",
  "GATEWAY_RATE_LIMITED",
  "GATEWAY_NOT_READY",
  "GATEWAY_INTERNAL",
  "SDK_GATEWAY_UNREACHABLE",
]);

/** Refusals that are not AGENCY_* or AGENT_* codes: the request was turned away unprocessed. */
const REFUSAL_CODES = new Set<string>([
  "INVALID_INPUT",
  "INVALID_JSON",
  "GATEWAY_REQUEST_INVALID",
  "GATEWAY_MALFORMED_JSON",
  "GATEWAY_UNSUPPORTED_MEDIA_TYPE",
  "GATEWAY_PAYLOAD_TOO_LARGE",
  "GATEWAY_ROUTE_NOT_FOUND",
  "GATEWAY_UNAUTHENTICATED",
  "GATEWAY_API_KEY_INVALID",
  "GATEWAY_FORBIDDEN",
  "GATEWAY_REQUEST_SIGNATURE_INVALID",
  "GATEWAY_REQUEST_EXPIRED",
  "GATEWAY_IDEMPOTENCY_KEY_REUSED",
  "GATEWAY_FEATURE_DISABLED",
  "GATEWAY_RATE_LIMITED",
  "GATEWAY_NOT_READY",
]);

/**
 * The default retry rule: `STORE_UNAVAILABLE`, `GATEWAY_RATE_LIMITED`,
 * `GATEWAY_NOT_READY`, `GATEWAY_INTERNAL`, `SDK_GATEWAY_UNREACHABLE`, and any
 * error that is not a `ChaosCoreError` (a network failure: the request may
 * or may not have arrived). Retrying is safe because a retry sends the same
 * signed entry, which the log records at most once.
 */
export function isRetryableSendError(error: unknown): boolean {
  return !isChaosCoreError(error) || RETRYABLE_CODES.has(error.code);
}

/**
 * True when an error proves the log did not record the entry: a refusal by
 * Proof of Agency or the registry (`AGENCY_*`, `AGENT_*`) or a request the
 * gateway turned away unprocessed (malformed, unauthenticated, rate limited…).
 * Anything else (network failures, `STORE_UNAVAILABLE`, `GATEWAY_INTERNAL`,
 * `SDK_*`) leaves it unknown whether the entry was recorded.
 */
export function isRefusal(error: unknown): boolean {
  if (!isChaosCoreError(error)) return false;
  const component = error.code.slice(0, error.code.indexOf("_"));
  return component === "AGENCY" || component === "AGENT" || REFUSAL_CODES.has(error.code);
}
