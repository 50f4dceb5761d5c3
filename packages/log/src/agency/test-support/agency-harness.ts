/**
 * Helpers shared by the Proof of Agency integration tests.
 * @module
 */
import { CHAIN_ID, type openTestEngine } from "@chaoscore/testkit";
import { ProofOfAgency } from "../proof-of-agency.js";

/** The test engine of @chaoscore/testkit with its agent helpers. */
export type Harness = Awaited<ReturnType<typeof openTestEngine>>;

export { expectCode } from "@chaoscore/testkit";

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
