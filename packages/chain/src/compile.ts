/**
 * Compiles the Solidity contracts of `contracts/` with solc-js (npm `solc`, a
 * devDependency) into deterministic artifacts: fixed compiler settings,
 * relative source names, keys sorted, stable formatting. Used by
 * `npm run build:contracts`, by the staleness test and by the benchmarks;
 * never at runtime (the runtime reads the committed artifacts).
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ChaosCoreError } from "@chaoscore/core";
import type { Artifact } from "./artifacts.js";

const require = createRequire(import.meta.url);

/** The repository root (holds `contracts/`). */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Where the contract sources live. */
export const CONTRACTS_DIR = join(REPO_ROOT, "contracts");
/** Where the artifacts are written, one `<ContractName>.json` each. */
export const ARTIFACTS_DIR = fileURLToPath(new URL("./artifacts/", import.meta.url));

/**
 * The fixed compiler settings. Changing them changes every artifact (and the
 * staleness test says so). `cancun` keeps the bytecode deployable on chains
 * that have not activated Prague yet.
 */
export const SOLC_SETTINGS = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 10_000 },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
} as const;

type SolcOutput = {
  errors?: { severity: "error" | "warning" | "info"; formattedMessage: string }[];
  contracts?: Record<
    string,
    Record<
      string,
      {
        abi: unknown[];
        evm: { bytecode: { object: string }; deployedBytecode: { object: string } };
      }
    >
  >;
};

/** A compiled contract (before it becomes an {@link Artifact}). */
export type CompiledContract = {
  readonly contractName: string;
  readonly sourceName: string;
  readonly abi: readonly unknown[];
  readonly bytecode: `0x${string}`;
  readonly deployedBytecode: `0x${string}`;
};

/** Resolves `pkg/path.sol` (e.g. `@openzeppelin/contracts/...`) from node_modules, and `contracts/...` from the repo. */
function readImport(path: string): { contents: string } | { error: string } {
  try {
    if (path.startsWith("contracts/"))
      return { contents: readFileSync(join(REPO_ROOT, path), "utf8") };
    const parts = path.split("/");
    const pkg = path.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? "");
    const rest = parts.slice(pkg.split("/").length).join("/");
    const root = dirname(require.resolve(`${pkg}/package.json`));
    return { contents: readFileSync(join(root, rest), "utf8") };
  } catch (e) {
    return { error: `cannot resolve ${path}: ${(e as Error).message}` };
  }
}

/**
 * Compiles Solidity sources (source name → text) with the fixed settings.
 * Imports of npm packages resolve from node_modules.
 * @throws ChaosCoreError INVALID_INPUT when solc reports an error (message: solc's output).
 * @example
 * ```ts
 * const out = compileSolidity({ "Floor.sol": "pragma solidity ^0.8.24; contract Floor {}" });
 * out.Floor.bytecode; // 0x6080…
 * ```
 */
export function compileSolidity(sources: Record<string, string>): Record<string, CompiledContract> {
  const solc = require("solc") as { compile(input: string, callbacks: object): string };
  const input = {
    language: "Solidity",
    sources: Object.fromEntries(
      Object.keys(sources)
        .sort()
        .map((name) => [name, { content: sources[name] }]),
    ),
    settings: SOLC_SETTINGS,
  };
  const output = JSON.parse(
    solc.compile(JSON.stringify(input), { import: readImport }),
  ) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) {
    throw new ChaosCoreError(
      "INVALID_INPUT",
      `solc: ${errors.map((e) => e.formattedMessage).join("\n")}`,
    );
  }
  const out: Record<string, CompiledContract> = {};
  for (const sourceName of Object.keys(sources).sort()) {
    for (const [contractName, c] of Object.entries(output.contracts?.[sourceName] ?? {})) {
      if (c.evm.bytecode.object === "") continue; // interfaces and abstract contracts
      out[contractName] = {
        contractName,
        sourceName,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
      };
    }
  }
  return out;
}

/** The solc-js version string, e.g. `0.8.30+commit.73712a01.Emscripten.clang`. */
export function solcVersion(): string {
  return (require("solc") as { version(): string }).version();
}

/**
 * Compiles every `contracts/*.sol` into artifacts, by contract name.
 * @throws ChaosCoreError INVALID_INPUT when the sources do not compile.
 */
export function compileContracts(dir: string = CONTRACTS_DIR): Record<string, Artifact> {
  if (!existsSync(dir)) throw new ChaosCoreError("INVALID_INPUT", `no contracts folder at ${dir}`);
  const sources: Record<string, string> = {};
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".sol"))
    .sort()) {
    sources[`contracts/${file}`] = readFileSync(join(dir, file), "utf8");
  }
  const version = solcVersion();
  const out: Record<string, Artifact> = {};
  for (const c of Object.values(compileSolidity(sources))) {
    if (!c.sourceName.startsWith("contracts/")) continue;
    out[c.contractName] = sortKeys({
      format: "chaoscore.contract-artifact/v1",
      contractName: c.contractName,
      sourceName: c.sourceName,
      compiler: { version, settings: SOLC_SETTINGS },
      abi: c.abi,
      bytecode: c.bytecode,
      deployedBytecode: c.deployedBytecode,
    }) as Artifact;
  }
  return out;
}

/** Where the generated `as const` ABI modules are written (`<kebab-name>.ts`, one per contract). */
export const ABIS_DIR = fileURLToPath(new URL("./abis/", import.meta.url));

/** `CheckpointAnchor` → `checkpoint-anchor` (the ABI module's file name, without `.ts`). */
export function abiModuleName(contractName: string): string {
  return contractName.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

/**
 * The text of a contract's ABI module: the artifact's ABI `as const`, so that
 * abitype derives argument, result and event types from it (see contract-client.ts).
 * Formatted afterwards by biome; generated, never edited by hand.
 */
export function renderAbiModule(artifact: Artifact): string {
  const name = `${artifact.contractName[0]?.toLowerCase()}${artifact.contractName.slice(1)}Abi`;
  return [
    "/**",
    ` * The ABI of ${artifact.contractName} (${artifact.sourceName}) as a const, for typed wrappers.`,
    " * Generated by `npm run build:contracts` from the committed artifact; do not edit.",
    " * (Over ~600 lines because it is generated data, not code.)",
    " *",
    " * @module",
    " */",
    `export const ${name} = ${JSON.stringify(artifact.abi, null, 2)} as const;`,
    "",
  ].join("\n");
}

/** The artifact's file text: sorted keys, 2-space JSON, final newline. */
export function renderArtifact(artifact: Artifact): string {
  return `${JSON.stringify(sortKeys(artifact), null, 2)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/**
 * The artifact files that differ in content (not formatting) from `artifacts`,
 * or that are missing or extra, in `dir`.
 */
export function staleArtifacts(
  artifacts: Record<string, Artifact>,
  dir: string = ARTIFACTS_DIR,
): string[] {
  const present = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".json")) : [];
  const stale: string[] = [];
  for (const a of Object.values(artifacts)) {
    const file = `${a.contractName}.json`;
    const text = present.includes(file) ? readFileSync(join(dir, file), "utf8") : undefined;
    if (
      text === undefined ||
      JSON.stringify(sortKeys(JSON.parse(text))) !== JSON.stringify(sortKeys(a))
    ) {
      stale.push(file);
    }
  }
  for (const f of present) if (artifacts[f.slice(0, -5)] === undefined) stale.push(f);
  return stale.sort();
}
