/**
 * The committed contract artifacts (`./artifacts/<Name>.json`, written by
 * `npm run build:contracts`; a test fails when they are stale).
 *
 * @module
 */
import { readFileSync } from "node:fs";

/** The names of the ChaosCore contracts, in deployment order. */
export const CONTRACT_NAMES = [
  "IdentityRegistry",
  "CheckpointAnchor",
  "RewardToken",
  "RewardDistributor",
] as const;

/** A ChaosCore contract name. */
export type ContractName = (typeof CONTRACT_NAMES)[number];

/** A compiled contract: ABI, creation and runtime bytecode, and how it was compiled. */
export type Artifact = {
  readonly format: "chaoscore.contract-artifact/v1";
  readonly contractName: string;
  readonly sourceName: string;
  readonly compiler: { readonly version: string; readonly settings: unknown };
  readonly abi: readonly unknown[];
  readonly bytecode: `0x${string}`;
  readonly deployedBytecode: `0x${string}`;
};

const cache = new Map<string, Artifact>();

/**
 * The committed artifact of a contract.
 * @example
 * ```ts
 * const { abi, bytecode } = loadArtifact("CheckpointAnchor");
 * ```
 */
export function loadArtifact(name: ContractName): Artifact {
  let artifact = cache.get(name);
  if (artifact === undefined) {
    artifact = JSON.parse(
      readFileSync(new URL(`./artifacts/${name}.json`, import.meta.url), "utf8"),
    ) as Artifact;
    cache.set(name, artifact);
  }
  return artifact;
}
