/**
 * `npm run build:contracts`: compiles contracts/*.sol with solc-js and writes
 * packages/chain/src/artifacts/<Name>.json (deterministic: sorted keys, then
 * formatted by biome like every JSON file of the repo; commit them).
 * `npm run check:contracts` (`--check`) only compares and exits 1 when stale.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  ARTIFACTS_DIR,
  compileContracts,
  REPO_ROOT,
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
  const biome = join(REPO_ROOT, "node_modules/.bin/biome");
  if (existsSync(biome))
    execFileSync(biome, ["format", "--write", ARTIFACTS_DIR], { stdio: "ignore" });
  console.log(
    `wrote ${Object.keys(artifacts).length} artifacts to ${ARTIFACTS_DIR} (${stale.length} changed)`,
  );
}
