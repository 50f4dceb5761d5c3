import { describe, expect, it } from "vitest";
import { ABIS } from "./abis.js";
import { CONTRACT_NAMES, loadArtifact } from "./artifacts.js";
import { compileContracts, staleArtifacts } from "./compile.js";

describe("contract artifacts", () => {
  it("are up to date with contracts/*.sol (else run `npm run build:contracts`)", () => {
    const fresh = compileContracts();
    expect(Object.keys(fresh).sort()).toEqual([...CONTRACT_NAMES].sort());
    expect(staleArtifacts(fresh)).toEqual([]);
  });

  it("carry the ABI, bytecode and compiler settings", () => {
    for (const name of CONTRACT_NAMES) {
      const a = loadArtifact(name);
      expect(a.format).toBe("chaoscore.contract-artifact/v1");
      expect(a.contractName).toBe(name);
      expect(a.bytecode).toMatch(/^0x[0-9a-f]+$/);
      expect(a.deployedBytecode.length).toBeLessThan(2 + 2 * 24_576); // EIP-170
      expect(a.compiler.version).toMatch(/^0\.8\.\d+/);
    }
  });

  it("have `as const` ABI modules equal to the artifacts' ABIs (else run `npm run build:contracts`)", () => {
    expect(Object.keys(ABIS).sort()).toEqual([...CONTRACT_NAMES].sort());
    for (const name of CONTRACT_NAMES) expect(ABIS[name]).toEqual(loadArtifact(name).abi);
  });
});
