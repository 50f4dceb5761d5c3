/**
 * Two engines on one database take the same step at once (the two-engines
 * tests): exactly one is accepted, the other refused.
 * @module
 */
import { type ErrorCode, isChaosCoreError } from "@chaoscore/core";
import { expect } from "vitest";

/** "ok" for a fulfilled step, else its error's code (or the error as text). */
export const settledCode = (r: PromiseSettledResult<unknown>): string =>
  r.status === "fulfilled" ? "ok" : isChaosCoreError(r.reason) ? r.reason.code : String(r.reason);

/**
 * Asserts that exactly one of two concurrent steps was accepted and that the
 * other was refused with `refusal` — or, when the refused one is the first
 * (signed first, so with the lower nonce of an agent that signed both), with
 * AGENCY_NONCE_NOT_INCREASING: if the second commits between the first's
 * state checks and its nonce check, the older nonce is what the first meets
 * (both refusals leave nothing written; a CI run saw this order).
 * @returns the index of the accepted step.
 */
export function expectOneAccepted(
  results: readonly PromiseSettledResult<unknown>[],
  refusal: ErrorCode,
): number {
  const codes = results.map(settledCode);
  expect(codes.filter((c) => c === "ok")).toHaveLength(1);
  expect(codes).toHaveLength(2);
  const kept = codes.indexOf("ok");
  const allowed: string[] = kept === 1 ? [refusal, "AGENCY_NONCE_NOT_INCREASING"] : [refusal];
  expect(allowed).toContain(codes[1 - kept]);
  return kept;
}
