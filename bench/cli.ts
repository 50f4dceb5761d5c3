/**
 * `npm run bench -- cli` (issue 13): cold start of the INSTALLED `chaoscore` command — the
 * packed tarballs installed with `npm install` into a project outside the repository — for
 * `--version` and `receipt verify <vector>`, whole process, median of several runs,
 * beside `node -e 0` measured in the same run (interleaved). Also prints the size of each
 * tarball and of the browser verifier (@chaoscore/core's `verifyReceipt` bundled with
 * esbuild, minified + gzip; plain, and with the explorer's CSP shims).
 *
 *   npm run bench -- cli [--runs 9] [--project <dir with the tarballs installed>]
 *
 * Without --project it installs `.pack/tarballs/*.tgz` (running `npm run pack` when there
 * are none) into a temporary directory, and removes it afterwards.
 * @module
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { describeMachine, goal } from "./machine.js";
import { intOption } from "./options.js";
import { median } from "./stats.js";

const ROOT = resolve(import.meta.dirname, "..");
const TARBALLS = join(ROOT, ".pack", "tarballs");

/** Wall time of one whole process, in ms; throws when it exits with another status. */
function timeProcess(cmd: string, args: string[], cwd: string, expectStatus = 0): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== expectStatus) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr.toString().slice(0, 500)}`,
    );
  }
  return ms;
}

function install(): string {
  if (!existsSync(TARBALLS) || readdirSync(TARBALLS).length === 0) {
    execFileSync("npm", ["run", "--silent", "pack"], { cwd: ROOT, stdio: "inherit" });
  }
  const dir = mkdtempSync(join(tmpdir(), "chaoscore-bench-cli-"));
  writeFileSync(
    join(dir, "package.json"),
    '{ "name": "bench-cli", "private": true, "type": "module" }\n',
  );
  const tgz = readdirSync(TARBALLS).map((f) => join(TARBALLS, f));
  console.log(`installing ${tgz.length} tarballs into ${dir} …`);
  execFileSync(
    "npm",
    ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", ...tgz],
    {
      cwd: dir,
      stdio: "inherit",
    },
  );
  return dir;
}

async function bundleSize(project: string, shims: boolean): Promise<{ raw: number; gzip: number }> {
  const esbuild = await import("esbuild");
  const entry = join(project, "verifier-entry.mjs");
  writeFileSync(entry, 'export { verifyReceipt } from "@chaoscore/core";\n');
  const shim = (name: string) =>
    join(project, "node_modules", "@chaoscore", "gateway", "explorer", "shims", name);
  // hash-wasm is swapped by core's own package.json "browser" field in both variants.
  const replaced: Record<string, string> = {
    "@sinclair/typebox/compiler": shim("typebox-compiler.ts"),
  };
  const result = await esbuild.build({
    entryPoints: [entry],
    absWorkingDir: project,
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    logLevel: "silent",
    ...(shims
      ? {
          inject: [shim("buffer.ts")],
          plugins: [
            {
              name: "explorer-shims",
              setup(build) {
                build.onResolve({ filter: /^@sinclair\/typebox\/compiler$/ }, (args) => ({
                  path: replaced[args.path] as string,
                }));
              },
            },
          ],
        }
      : {}),
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  return { raw: code.length, gzip: gzipSync(code, { level: 9 }).length };
}

/** Runs the bench; true when every goal passes. */
export async function runCliBench(args: string[]): Promise<boolean> {
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: "string", default: "9" },
      project: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(
      "usage: npm run bench -- cli [--runs 9] [--project <dir with the tarballs installed>]",
    );
    return true;
  }
  const runs = intOption("runs", values.runs);
  const project = values.project === undefined ? install() : resolve(values.project);
  try {
    const cli = join(project, "node_modules", ".bin", "chaoscore");
    const vectors = join(ROOT, "vectors", "receipts");
    const receipt = join(project, "bench-receipt.json");
    const vector = JSON.parse(readFileSync(join(vectors, "valid-action.json"), "utf8")) as {
      receipt: unknown;
    };
    writeFileSync(receipt, JSON.stringify(vector.receipt));
    const logKey = readFileSync(join(vectors, "log-key.txt"), "utf8").trim();
    const verifyArgs = ["receipt", "verify", "--log-key", logKey, receipt];

    console.log(`machine: ${describeMachine()}`);
    console.log(`installed CLI: ${cli}; ${runs} runs each, interleaved, after one warm-up of each`);
    timeProcess(process.execPath, ["-e", "0"], project);
    timeProcess(cli, ["--version"], project);
    timeProcess(cli, verifyArgs, project);
    const t = { node: [] as number[], version: [] as number[], verify: [] as number[] };
    for (let i = 0; i < runs; i++) {
      t.node.push(timeProcess(process.execPath, ["-e", "0"], project));
      t.version.push(timeProcess(cli, ["--version"], project));
      t.verify.push(timeProcess(cli, verifyArgs, project));
    }
    const node = median(t.node);
    const version = median(t.version);
    const verify = median(t.verify);
    console.log(`node -e 0                         median ${node.toFixed(1)} ms`);
    console.log(
      `chaoscore --version               median ${version.toFixed(1)} ms (${(version / node).toFixed(2)} × node)`,
    );
    console.log(
      `chaoscore receipt verify <vector> median ${verify.toFixed(1)} ms (${(verify / node).toFixed(2)} × node)`,
    );

    console.log("\ntarballs:");
    if (existsSync(TARBALLS)) {
      for (const f of readdirSync(TARBALLS).sort()) {
        console.log(`  ${f.padEnd(32)} ${(statSync(join(TARBALLS, f)).size / 1024).toFixed(1)} kB`);
      }
    }
    const plain = await bundleSize(project, false);
    const shimmed = await bundleSize(project, true);
    console.log("\nbrowser verifier (@chaoscore/core verifyReceipt, esbuild, minified):");
    console.log(
      `  as any bundler makes it        ${(plain.raw / 1024).toFixed(1)} kB, ${(plain.gzip / 1024).toFixed(1)} kB gzip (core's browser field: hash-wasm → @noble/hashes; sideEffects false)`,
    );
    console.log(
      `  with the explorer's CSP shims  ${(shimmed.raw / 1024).toFixed(1)} kB, ${(shimmed.gzip / 1024).toFixed(1)} kB gzip (also TypeBox compiler → Value.Check, Buffer shim)`,
    );
    console.log("");
    const results = [
      goal("cli_version_vs_node", version / node, 3, false),
      goal("cli_receipt_verify_vs_node", verify / node, 5, false),
      goal("browser_verifier_gzip_kb", plain.gzip / 1024, 60, false),
    ];
    return results.every(Boolean);
  } finally {
    if (values.project === undefined) rmSync(project, { recursive: true, force: true });
  }
}
