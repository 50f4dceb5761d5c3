/**
 * Helpers shared by the Proof of Agency integration tests.
 * @module
 */
import { type ErrorCode, isChaosCoreError } from "@chaoscore/core";
import { CHAIN_ID, type openTestEngine } from "@chaoscore/testkit";
import { expect } from "vitest";
import { ProofOfAgency } from "../proof-of-agency.js";

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

/** A second Proof of Agency over the harness's database, log and registry, with its own options (a verifier, limits…). */
export function agencyWith(
  h: Harness,
  options: Partial<ConstructorParameters<typeof ProofOfAgency>[0]>,
): ProofOfAgency {
  return new ProofOfAgency({
    db: h.db,
    log: h.engine.log,
    agents: h.engine.registry,
    chainId: CHAIN_ID,
    verifyingContract: h.engine.agency.verifyingContract,
    ...options,
  });
}
