/**
 * Helpers shared by the Proof of Agency integration tests.
 * @module
 */
import { type ErrorCode, isChaosCoreError } from "@chaoscore/core";
import type { openTestEngine } from "@chaoscore/testkit";
import { expect } from "vitest";

/** The test engine of @chaoscore/testkit with its agent helpers. */
export type Harness = Awaited<ReturnType<typeof openTestEngine>>;

/** Awaits `promise` and expects it to fail with a ChaosCoreError of `code`. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(isChaosCoreError(error) ? error.code : error).toBe(code);
    return;
  }
  expect.unreachable(`expected ${code}`);
}
