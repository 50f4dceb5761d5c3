/**
 * `npm run build:contracts`: compiles contracts/*.sol with solc-js and writes
 * packages/chain/src/artifacts/<Name>.json (deterministic: sorted keys, then
 * formatted by biome like every JSON file of the repo; commit them), and the same
 * ABIs as `as const` TypeScript modules in packages/chain/src/abis/ (the typed
 * wrappers derive their types from them with abitype).
 * `npm run check:contracts` (`--check`) only compares and exits 1 when stale.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ABIS_DIR,
  ARTIFACTS_DIR,
  abiModuleName,
  compileContracts,
  REPO_ROOT,
  renderAbiModule,
  renderArtifact,
  staleArtifacts,
} from "../src/compile.js";

const check = process.argv.includes("--check");
const artifacts = compileContracts();
const stale = staleArtifacts(artifacts);
if (check) {
  if (stale.length > 0) {
    console.error(`stale contract artifacts: ${stale.join(", ")} (run npm run build:contracts)`);
    process.exit(1);
  }
  console.log(`contract artifacts are up to date (${Object.keys(artifacts).length})`);
} else {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  for (const f of readdirSync(ARTIFACTS_DIR)) {
    if (f.endsWith(".json") && artifacts[f.slice(0, -5)] === undefined)
      rmSync(join(ARTIFACTS_DIR, f));
  }
  for (const a of Object.values(artifacts)) {
    writeFileSync(join(ARTIFACTS_DIR, `${a.contractName}.json`), renderArtifact(a));
  }
  // The same ABIs `as const` (src/abis/<name>.ts), from which the wrappers' types are derived.
  mkdirSync(ABIS_DIR, { recursive: true });
  for (const a of Object.values(artifacts)) {
    writeFileSync(join(ABIS_DIR, `${abiModuleName(a.contractName)}.ts`), renderAbiModule(a));
  }
  const biome = join(REPO_ROOT, "node_modules/.bin/biome");
  if (existsSync(biome))
    execFileSync(biome, ["format", "--write", ARTIFACTS_DIR, ABIS_DIR], { stdio: "ignore" });
  console.log(
    `wrote ${Object.keys(artifacts).length} artifacts to ${ARTIFACTS_DIR} (${stale.length} changed)`,
  );
}
