/**
 * Packs the packages a user installs into publish-ready tarballs, on a staging copy:
 * nothing under packages/ changes, tests and the demo keep running on the TypeScript
 * sources (issue 13).
 *
 *   npm run pack                       # → .pack/<name>/ (staged packages), .pack/tarballs/*.tgz
 *
 * Steps: one `tsc` program over every package's `src/` (tests and test-support left out)
 * into `.pack/build/`; per package, `.pack/<name>/dist/` gets that output with the layout of
 * `src/` unchanged (so `new URL("./x.mjs", import.meta.url)` of workers and assets keeps
 * resolving), the non-TS runtime files beside it (`*.mjs` workers and their `.d.mts`, the
 * contract artifacts), the sources in `src/` (what the declaration and source maps point
 * at), a publish-ready package.json (`exports` types first, ESM only, no `private`, no tsx),
 * README and LICENSE; then `npm pack` of each into `.pack/tarballs/`.
 *
 * Why tsc and not a bundler (tsup/tsdown): the output keeps the source layout file for file,
 * so every `import.meta.url`-relative path (sandbox worker, signature worker, gas meter,
 * contract artifacts, the gateway's explorer sources, `../package.json` for the version)
 * stays valid without a per-asset copy rule; the declarations are exactly what the
 * typechecker already checks; and it is the compiler the repository already runs.
 * @module
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, ".pack");
const BUILD = join(OUT, "build");
const TARBALLS = join(OUT, "tarballs");

/** The packages a user installs (folder names under packages/). */
export const PACKAGES = [
  "core",
  "chain",
  "log",
  "sandbox",
  "anchoring",
  "reputation",
  "studios",
  "engine",
  "sdk",
  "gateway",
  "monitor",
  "witness",
  "mcp",
  "cli",
] as const;

/** Placeholder until the repository has a public home; override with CHAOSCORE_REPOSITORY. */
const REPOSITORY =
  process.env.CHAOSCORE_REPOSITORY ?? "git+https://github.com/chaoscore/chaoscore.git";

/** Files under src/ that are not shipped: tests, their helpers, the sandbox's attack corpus. */
const isDevOnly = (rel: string): boolean =>
  /(^|\/)(test-support|corpus)(\/|$)/.test(rel) || /\.(test|int\.test)\.[cm]?[tj]s$/.test(rel);

function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path, base));
    else out.push(relative(base, path));
  }
  return out;
}

function copy(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to);
}

/** Runs tsc once over all packages: one program type-checks each file once. */
function compile(): void {
  const tsconfig = {
    extends: "../tsconfig.base.json",
    compilerOptions: {
      noEmit: false,
      rootDir: "../packages",
      outDir: "./build",
      declaration: true,
      declarationMap: true,
      sourceMap: true,
    },
    include: PACKAGES.map((p) => `../packages/${p}/src/**/*.ts`),
    exclude: ["../**/*.test.ts", "../**/test-support/**", "../**/corpus/**"],
  };
  writeFileSync(join(OUT, "tsconfig.build.json"), `${JSON.stringify(tsconfig, null, 2)}\n`);
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-p", join(OUT, "tsconfig.build.json")], {
    stdio: "inherit",
  });
}

/** Rewrites a map's `sources` from the build location to the staged `src/` copy. */
function relocateMap(mapFrom: string, mapTo: string, pkgDir: string, stageDir: string): void {
  const map = JSON.parse(readFileSync(mapFrom, "utf8")) as {
    sources: string[];
    sourceRoot?: string;
  };
  map.sources = map.sources.map((s) => {
    const abs = resolve(dirname(mapFrom), map.sourceRoot ?? "", s);
    return relative(dirname(mapTo), join(stageDir, relative(pkgDir, abs)));
  });
  delete map.sourceRoot;
  mkdirSync(dirname(mapTo), { recursive: true });
  writeFileSync(mapTo, JSON.stringify(map));
}

type Manifest = Record<string, unknown> & {
  name: string;
  version: string;
  exports: Record<string, string>;
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
};

/** `./src/x/y.ts` → `./dist/x/y` (no extension). */
const distOf = (src: string): string => src.replace(/^\.\/src\//, "./dist/").replace(/\.ts$/, "");

function manifest(name: string, source: Manifest, extraFiles: string[]): Manifest {
  const { private: _private, devDependencies: _dev, exports, bin, ...rest } = source;
  const out: Manifest = {
    ...rest,
    description: rest.description ?? firstLine(join(ROOT, "packages", name, "README.md")),
    type: "module",
    license: "Apache-2.0",
    repository: { type: "git", url: REPOSITORY, directory: `packages/${name}` },
    engines: { node: ">=20.19" },
    exports: {},
    files: ["dist", "src", ...extraFiles, "README.md", "LICENSE"],
  };
  const map: Record<string, unknown> = {};
  for (const [key, target] of Object.entries(exports)) {
    map[key] = { types: `${distOf(target)}.d.ts`, default: `${distOf(target)}.js` };
  }
  map["./package.json"] = "./package.json";
  out.exports = map as unknown as Record<string, string>;
  if (exports["."] !== undefined) out.types = `${distOf(exports["."])}.d.ts`;
  // Browser replacements (package.json "browser" field, honoured by bundlers): same rewrite as exports.
  if (typeof rest.browser === "object" && rest.browser !== null) {
    out.browser = Object.fromEntries(
      Object.entries(rest.browser as Record<string, string>).map(([k, v]) => [
        k,
        `${distOf(v)}.js`,
      ]),
    );
  }
  if (bin !== undefined) {
    out.bin = bin;
    out.files = [...(out.files as string[]), "bin"];
  }
  if (out.dependencies !== undefined) {
    const deps = { ...out.dependencies };
    delete deps.tsx; // the CLI runs compiled JavaScript: no TypeScript loader at run time
    out.dependencies = deps;
  }
  return out;
}

function firstLine(readme: string): string | undefined {
  if (!existsSync(readme)) return undefined;
  const title = readFileSync(readme, "utf8").split("\n")[0] ?? "";
  return title.replace(/^#\s*/, "").replace(/`/g, "") || undefined;
}

/** Stages one package into .pack/<name>/. */
function stage(name: string): string {
  const pkgDir = join(ROOT, "packages", name);
  const stageDir = join(OUT, name);
  const built = join(BUILD, name, "src");
  rmSync(stageDir, { recursive: true, force: true });
  // compiled output, with maps pointing at the staged sources
  for (const rel of walk(built)) {
    const from = join(built, rel);
    const to = join(stageDir, "dist", rel);
    if (rel.endsWith(".map")) relocateMap(from, to, pkgDir, stageDir);
    else copy(from, to);
  }
  // sources (what the maps point at) and the non-TS runtime files (workers, artifacts)
  for (const rel of walk(join(pkgDir, "src"))) {
    if (isDevOnly(rel)) continue;
    copy(join(pkgDir, "src", rel), join(stageDir, "src", rel));
    if (!rel.endsWith(".ts") || rel.endsWith(".d.mts")) {
      copy(join(pkgDir, "src", rel), join(stageDir, "dist", rel));
    }
  }
  const extra: string[] = [];
  if (name === "gateway") {
    // bundled with esbuild at run time (routes/explorer.ts: EXPLORER_DIR = dist/../explorer)
    for (const rel of walk(join(pkgDir, "explorer"))) {
      if (rel === "tsconfig.json" || isDevOnly(rel)) continue;
      copy(join(pkgDir, "explorer", rel), join(stageDir, "explorer", rel));
    }
    extra.push("explorer");
  }
  if (existsSync(join(pkgDir, "assets"))) {
    // runtime assets beside src/ (the studios' governance simulation: SIMULATION_PATH)
    for (const rel of walk(join(pkgDir, "assets"))) {
      copy(join(pkgDir, "assets", rel), join(stageDir, "assets", rel));
    }
    extra.push("assets");
  }
  const source = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as Manifest;
  if (source.bin !== undefined) {
    mkdirSync(join(stageDir, "bin"), { recursive: true });
    writeFileSync(
      join(stageDir, "bin", "chaoscore.js"),
      '#!/usr/bin/env node\n// The `chaoscore` command (compiled JavaScript, no TypeScript loader).\nawait import("../dist/main.js");\n',
      { mode: 0o755 },
    );
  }
  const pkg = manifest(name, source, extra);
  writeFileSync(join(stageDir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  copy(join(ROOT, "LICENSE"), join(stageDir, "LICENSE"));
  const readme = join(pkgDir, "README.md");
  if (existsSync(readme)) copy(readme, join(stageDir, "README.md"));
  return stageDir;
}

function main(): void {
  const started = Date.now();
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(TARBALLS, { recursive: true });
  compile();
  const dirs = PACKAGES.map(stage);
  const out = execFileSync("npm", ["pack", "--silent", "--pack-destination", TARBALLS, ...dirs], {
    cwd: OUT,
    encoding: "utf8",
  });
  for (const file of out.trim().split("\n")) console.log(join(".pack", "tarballs", file));
  console.error(
    `packed ${dirs.length} packages in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

main();
