/**
 * The package graph, drawn from the `package.json` files (their `dependencies` on
 * other workspace packages; knip checks that those match the imports).
 *
 *   npm run docs:graph            # rewrites the graph in docs/architecture.md
 *   tsx scripts/package-graph.ts --check
 *                                 # fails when a file imports a workspace package its
 *                                 # package.json does not declare,
 *                                 # fails when a package declares a workspace package that
 *                                 # package-graph.json does not allow it, or when the
 *                                 # graph in docs/architecture.md is not the one drawn here
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..");
const DOC = join(ROOT, "docs", "architecture.md");
const START = "<!-- package-graph: drawn by `npm run docs:graph` from the package.json files -->";
const END = "<!-- /package-graph -->";

type Manifest = {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};

const IMPORT = /(?:from|import)\s*\(?\s*["'](@chaoscore\/[a-z0-9-]+)(?:\/[^"']*)?["']/g;
const isTest = (path: string): boolean => /\.test\.[cm]?ts$|(^|\/)test-support\//.test(path);

/**
 * Imports of workspace packages that a package does not declare (knip resolves
 * workspace packages to their sources and does not see these): a source file's in
 * `dependencies`, a test's in `dependencies` or `devDependencies`.
 */
export function undeclaredWorkspaceImports(): string[] {
  const problems: string[] = [];
  for (const dir of readdirSync(join(ROOT, "packages")).sort()) {
    const pkgDir = join(ROOT, "packages", dir);
    const m = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as Manifest;
    const runtime = new Set(Object.keys(m.dependencies ?? {}));
    const dev = new Set([...runtime, ...Object.keys(m.devDependencies ?? {})]);
    for (const rel of readdirSync(join(pkgDir, "src"), { recursive: true }) as string[]) {
      if (!/\.(?:ts|mts|mjs|js)$/.test(rel) || rel.includes("node_modules")) continue;
      const text = readFileSync(join(pkgDir, "src", rel), "utf8");
      for (const [, name] of text.matchAll(IMPORT)) {
        if (name === undefined || name === m.name) continue;
        const declared = isTest(rel) ? dev : runtime;
        if (!declared.has(name)) {
          problems.push(
            `packages/${dir}/src/${rel} imports ${name}, which packages/${dir}/package.json does not declare${isTest(rel) ? " (devDependencies will do for a test)" : ""}`,
          );
        }
      }
    }
  }
  return problems;
}

/** Each workspace package's folder name → the workspace packages it depends on at run time. */
export function packageGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const dir of readdirSync(join(ROOT, "packages")).sort()) {
    const m = JSON.parse(
      readFileSync(join(ROOT, "packages", dir, "package.json"), "utf8"),
    ) as Manifest;
    const deps = Object.keys(m.dependencies ?? {})
      .filter((d) => d.startsWith("@chaoscore/"))
      .map((d) => d.slice("@chaoscore/".length))
      .sort();
    graph.set(dir, deps);
  }
  return graph;
}

/** The graph as a Mermaid flowchart (an edge per declared dependency, testkit left out). */
export function mermaid(graph: Map<string, string[]>): string {
  const lines = ["```mermaid", "flowchart BT"];
  for (const [pkg, deps] of graph) {
    if (pkg === "testkit") continue;
    if (deps.length === 0) lines.push(`  ${pkg}`);
    for (const dep of deps) lines.push(`  ${pkg} --> ${dep}`);
  }
  lines.push("```");
  return lines.join("\n");
}

function main(): void {
  const graph = packageGraph();
  const ALLOWED = (
    JSON.parse(readFileSync(join(ROOT, "package-graph.json"), "utf8")) as {
      allowed: Record<string, string[] | null>;
    }
  ).allowed;
  const problems: string[] = undeclaredWorkspaceImports();
  for (const [pkg, deps] of graph) {
    const allowed = ALLOWED[pkg];
    if (allowed === undefined) problems.push(`packages/${pkg} is not in package-graph.json`);
    else if (allowed !== null) {
      for (const dep of deps) {
        if (!allowed.includes(dep)) {
          problems.push(
            `packages/${pkg} depends on @chaoscore/${dep}, which the package graph does not allow`,
          );
        }
      }
    }
  }
  const doc = readFileSync(DOC, "utf8");
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) problems.push(`docs/architecture.md has no ${START} … ${END} section`);
  const drawn = `${START}\n\n${mermaid(graph)}\n\n${END}`;
  if (process.argv.includes("--check")) {
    if (a >= 0 && doc.slice(a, b + END.length) !== drawn) {
      problems.push("the package graph in docs/architecture.md is stale: run `npm run docs:graph`");
    }
  } else if (a >= 0 && b > a) {
    writeFileSync(DOC, doc.slice(0, a) + drawn + doc.slice(b + END.length));
    console.log("docs/architecture.md: package graph redrawn");
  }
  for (const p of problems) console.error(`error ${p}`);
  if (problems.length > 0) process.exit(1);
}

main();
