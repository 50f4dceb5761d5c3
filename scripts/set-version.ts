/**
 * Sets one version on every package of the repository (issue 13: versions kept together):
 * the root package.json, each packages/<x>/package.json, and every `@chaoscore/*`
 * dependency between them, pinned to that version. Then `npm install` refreshes the lock.
 *
 *   npm run set-version -- 0.2.0
 * @module
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const version = process.argv[2];
if (version === undefined || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
  console.error("usage: npm run set-version -- <major.minor.patch[-pre]>");
  process.exit(2);
}
const files = [
  join(ROOT, "package.json"),
  ...readdirSync(join(ROOT, "packages")).map((p) => join(ROOT, "packages", p, "package.json")),
];
for (const file of files) {
  const pkg = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  pkg.version = version;
  for (const field of ["dependencies", "devDependencies", "peerDependencies"]) {
    const deps = pkg[field] as Record<string, string> | undefined;
    for (const name of Object.keys(deps ?? {})) {
      if (deps !== undefined && name.startsWith("@chaoscore/")) deps[name] = version;
    }
  }
  writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
  console.log(`${file.slice(ROOT.length + 1)} → ${version}`);
}
console.log("now: npm install (refreshes package-lock.json), then add an entry to CHANGELOG.md");
