/**
 * The anvil fixture lives in the test kit (`@chaoscore/testkit/chain`), used by
 * every package by name; this re-export keeps the chain's own tests' imports.
 */
export { expectCode, expectRevert, type TestChain, useTestChain } from "@chaoscore/testkit/chain";
