/**
 * The refusal a test expects: a ChaosCoreError with a given code.
 * @module
 */
import { type ChaosCoreError, type ErrorCode, isChaosCoreError } from "@chaoscore/core";
import { expect } from "vitest";

/** Awaits `promise`, expects it to fail with a ChaosCoreError of `code`, and returns that error. */
export async function expectCode(
  promise: Promise<unknown>,
  code: ErrorCode,
): Promise<ChaosCoreError> {
  try {
    await promise;
  } catch (error) {
    expect(
      isChaosCoreError(error) ? error.code : error,
      isChaosCoreError(error) ? error.message : undefined,
    ).toBe(code);
    return error as ChaosCoreError;
  }
  return expect.unreachable(`expected ${code}, but the call succeeded`);
}
