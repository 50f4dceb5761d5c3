/**
 * Test fixtures shared by the packages' tests: a test database (PGlite, or the
 * Postgres server of DATABASE_URL), an engine over it, studio ports.
 * @module
 */
export { openAnchoringTestEngine } from "./anchoring-engine.js";
export { CHAIN_ID, openTestEngine, snapshot, testCard } from "./engine.js";
export { expectCode } from "./expect-code.js";
export {
  type GovernanceAgent,
  type RunProposalInput,
  type RunProposalResult,
  runGovernanceProposal,
} from "./governance-flow.js";
export { FakeReputation, FakeRewards, studioSnapshot } from "./studio-fixtures.js";
export { openTestDb, TEST_DB_KIND } from "./test-db.js";
