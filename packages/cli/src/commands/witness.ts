/**
 * `chaoscore witness init` and `chaoscore witness serve`: a C2SP tlog-witness
 * with its own key and store in `<data dir>/witness/`. See docs/spec/witness.md.
 * @module
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  generateWitnessKey,
  isChaosCoreError,
  witnessVerifierKeyFromSignerKey,
} from "@chaoscore/core";
import { info, UsageError } from "../output.js";
import type { Globals } from "../program.js";
import { untilStopSignal } from "../stop-signals.js";

/** Files of a witness inside the data directory. */
export function witnessPaths(dataDir: string) {
  const dir = join(dataDir, "witness");
  return { dir, key: join(dir, "witness.key") };
}

export type WitnessInitOptions = { name: string; force?: boolean };

/** Reads the witness's signer key, or undefined when it has none yet. */
async function readKey(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Makes the witness key (kept if one exists) and returns its signer key. */
async function ensureKey(dataDir: string, name: string, force = false): Promise<string> {
  const paths = witnessPaths(dataDir);
  const existing = force ? undefined : await readKey(paths.key);
  if (existing !== undefined) return existing;
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const { signerKey } = generateWitnessKey(name);
  await writeFile(paths.key, `${signerKey}\n`, { mode: 0o600 });
  await chmod(paths.key, 0o600);
  return signerKey;
}

/** `chaoscore witness init`: creates the witness key and prints its verifier key. */
export async function runWitnessInit(globals: Globals, opts: WitnessInitOptions): Promise<void> {
  const paths = witnessPaths(globals.dataDir);
  const before = await readKey(paths.key);
  const signerKey = await ensureKey(globals.dataDir, opts.name, opts.force === true);
  if (before !== undefined && opts.force !== true) info(`the witness key exists: ${paths.key}`);
  else info(`witness key written to ${paths.key} (keep it secret)`);
  process.stdout.write(`WITNESS_KEY ${witnessVerifierKeyFromSignerKey(signerKey)}\n`);
}

export type WitnessServeOptions = {
  listen: string;
  name: string;
  log?: string[];
  config?: string;
  databaseUrl?: string;
};

type ConfigFile = {
  logs?: { origin?: string; key: string }[];
  listen?: string;
  databaseUrl?: string;
};

async function readConfig(path: string): Promise<ConfigFile> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read the witness config ${path}: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`the witness config ${path} is not a JSON object`);
  }
  const config = value as ConfigFile;
  if (config.logs !== undefined && !Array.isArray(config.logs)) {
    throw new UsageError(`"logs" in ${path} is an array of {"origin"?, "key"}`);
  }
  return config;
}

function parseListen(value: string): { host: string; port: number } {
  const m = /^(.*):([0-9]{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (m === null || port > 65535) throw new UsageError(`--listen takes host:port, got ${value}`);
  return { host: (m[1] ?? "").replace(/^\[|\]$/g, "") || "127.0.0.1", port };
}

/** `chaoscore witness serve`: runs the witness until SIGINT/SIGTERM. */
export async function runWitnessServe(globals: Globals, opts: WitnessServeOptions): Promise<void> {
  const { openWitnessStore, parseWitnessedLog, serveWitness, useNodeEd25519, Witness } =
    await import("@chaoscore/witness");
  useNodeEd25519();
  const config = opts.config === undefined ? {} : await readConfig(opts.config);
  const logs = [];
  try {
    for (const l of config.logs ?? []) {
      logs.push(parseWitnessedLog(l.origin === undefined ? l.key : `${l.origin} ${l.key}`));
    }
    for (const l of opts.log ?? []) logs.push(parseWitnessedLog(l));
  } catch (error) {
    if (isChaosCoreError(error))
      throw new UsageError(`a --log value does not parse: ${error.message}`);
    throw error;
  }
  if (logs.length === 0) {
    throw new UsageError(
      'name the logs to follow: --log "<origin> <verifier key>" (repeatable) or --config',
    );
  }
  const signerKey = await ensureKey(globals.dataDir, opts.name);
  const databaseUrl = opts.databaseUrl ?? config.databaseUrl;
  const store = await openWitnessStore({
    databaseUrl,
    dataDir: witnessPaths(globals.dataDir).dir,
  });
  const witness = new Witness({ signerKey, logs, store });
  const { host, port } = parseListen(
    config.listen !== undefined && opts.listen === "127.0.0.1:8790" ? config.listen : opts.listen,
  );
  const server = await serveWitness(witness, {
    host,
    port,
    onError: (error) => info(`witness error: ${String(error)}`),
  });
  info(
    `witness ${witness.name} follows ${logs.map((l) => l.origin).join(", ")} (store: ${databaseUrl ? "postgres" : "pglite"})`,
  );
  process.stdout.write(`WITNESS_KEY ${witness.verifierKey}\n`);
  process.stdout.write(`LISTENING ${server.url}\n`);
  await untilStopSignal();
  await server
    .close()
    .then(() => store.close())
    .catch(() => undefined);
}
