/**
 * The data directory (`--data-dir`, `CHAOSCORE_HOME`, default `./.chaoscore`):
 *
 * ```
 * config.json      { format: "chaoscore.config/v1", chainId, log: { id, origin, verifierKey } }
 * log.key          the log's C2SP note signer key (mode 0600)
 * keys/<name>.json agent keys, Ethereum keystore v3 (scrypt + AES-128-CTR)
 * pgdata/          the embedded PGlite database (unless DATABASE_URL is set)
 * ```
 * @module
 */
import { scrypt as nodeScrypt, randomBytes } from "node:crypto";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type Address,
  ChaosCoreError,
  deploymentAddress,
  parseVerifierKey,
  verifierKeyFromSignerKey,
} from "@chaoscore/core";
import { Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { UsageError } from "./output.js";
import { promptHidden } from "./password.js";

/** Format tag of config.json. */
export const CONFIG_FORMAT = "chaoscore.config/v1";
/** The log origin `init` configures (also the name of the log's note key). */
export const DEFAULT_ORIGIN = "chaoscore.local/log/default";

/** config.json. */
export type CliConfig = {
  format: typeof CONFIG_FORMAT;
  /** The EIP-155 chain id agents sign for, decimal. */
  chainId: string;
  log: { id: string; origin: string; verifierKey: string };
  /** C2SP tlog-witnesses the log submits its checkpoints to (docs/spec/witness.md). */
  witnesses?: { url: string; verifierKey: string }[];
};

/**
 * The deployment agents of this data directory sign for (EIP-712
 * `verifyingContract`, docs/spec/receipt.md §2.1): `deploymentAddress` of the
 * log's verifier key, which `init` makes fresh for every data directory. It
 * does not change when the same directory is served with or without a chain,
 * so key rotations and entries stay verifiable.
 */
export function deploymentOf(config: CliConfig): Address {
  return deploymentAddress(config.log.verifierKey);
}

/** The files of a data directory. */
export function dataPaths(dir: string) {
  return {
    dir,
    config: join(dir, "config.json"),
    logKey: join(dir, "log.key"),
    keys: join(dir, "keys"),
    pgdata: join(dir, "pgdata"),
    key: (name: string) => join(dir, "keys", `${name}.json`),
  };
}

const CHAIN_ID_RE = /^[1-9][0-9]{0,19}$/;

/**
 * The schema of config.json (docs/configuration.md); other members are
 * ignored. Each member names the message its failure gives.
 */
const CONFIG_SCHEMA = Type.Object({
  format: Type.Literal(CONFIG_FORMAT),
  chainId: Type.String({ pattern: CHAIN_ID_RE.source }),
  log: Type.Object({ id: Type.String(), origin: Type.String(), verifierKey: Type.String() }),
  witnesses: Type.Optional(
    Type.Array(Type.Object({ url: Type.String(), verifierKey: Type.String() })),
  ),
});
const CONFIG_PROBLEMS: Record<string, string> = {
  format: `format is not ${CONFIG_FORMAT}`,
  chainId: "chainId is not a decimal chain id",
  log: "log must have string id, origin and verifierKey",
  witnesses: "witnesses must be an array of {url, verifierKey}",
};
const KEY_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Checks a chain id given on the command line. */
export function checkChainId(value: string): string {
  if (!CHAIN_ID_RE.test(value)) throw new UsageError(`chain id must be a positive integer`);
  return value;
}

/** Checks a key name: it becomes a file name, so no slashes or leading dots. */
export function checkKeyName(name: string): string {
  if (!KEY_NAME_RE.test(name)) {
    throw new UsageError(
      `key name ${JSON.stringify(name)} must be 1-64 letters, digits, '.', '_' or '-' (not first)`,
    );
  }
  return name;
}

function notInitialized(dir: string): ChaosCoreError {
  return new ChaosCoreError(
    "CLI_NOT_INITIALIZED",
    `no ChaosCore configuration in ${dir}: run \`chaoscore init\` (or pass --data-dir / set CHAOSCORE_HOME)`,
    { details: { dataDir: dir } },
  );
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** True when the directory holds a config.json. */
export async function isInitialized(dir: string): Promise<boolean> {
  return (await readText(dataPaths(dir).config)) !== undefined;
}

/**
 * Reads and checks config.json.
 * @throws ChaosCoreError CLI_NOT_INITIALIZED when it is missing, INVALID_INPUT when malformed.
 */
export async function readConfig(dir: string): Promise<CliConfig> {
  const text = await readText(dataPaths(dir).config);
  if (text === undefined) throw notInitialized(dir);
  const bad = (problem: string) =>
    new ChaosCoreError("INVALID_INPUT", `${dataPaths(dir).config}: ${problem}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad("not valid JSON");
  }
  if (!Value.Check(CONFIG_SCHEMA, value)) {
    // The first member (in schema order) that does not fit names the problem.
    const failed = new Set(
      [...Value.Errors(CONFIG_SCHEMA, value)].map((e) => e.path.split("/")[1] ?? ""),
    );
    const member = Object.keys(CONFIG_PROBLEMS).find((k) => failed.has(k)) ?? "format";
    throw bad(CONFIG_PROBLEMS[member] as string);
  }
  const c = value;
  const { log, witnesses } = c;
  parseVerifierKey(log.verifierKey);
  return {
    format: CONFIG_FORMAT,
    chainId: c.chainId,
    log: { id: log.id, origin: log.origin, verifierKey: log.verifierKey },
    ...(witnesses === undefined
      ? {}
      : { witnesses: witnesses.map((w) => ({ url: w.url, verifierKey: w.verifierKey })) }),
  };
}

/** Writes config.json. */
export async function writeConfig(dir: string, config: CliConfig): Promise<void> {
  await writeFile(dataPaths(dir).config, `${JSON.stringify(config, null, 2)}\n`);
}

/** Writes the log's signer key, readable by the owner only. */
export async function writeLogKey(dir: string, signerKey: string): Promise<void> {
  const path = dataPaths(dir).logKey;
  await writeFile(path, `${signerKey}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
}

/**
 * Reads log.key and checks that it matches the configured verifier key.
 * @throws ChaosCoreError CLI_NOT_INITIALIZED when missing, INVALID_INPUT when it does not match.
 */
export async function readLogKey(dir: string, config: CliConfig): Promise<string> {
  const text = await readText(dataPaths(dir).logKey);
  if (text === undefined) throw notInitialized(dir);
  const signerKey = text.trim();
  if (verifierKeyFromSignerKey(signerKey) !== config.log.verifierKey) {
    throw new ChaosCoreError(
      "INVALID_INPUT",
      `${dataPaths(dir).logKey} does not match the verifier key in config.json`,
    );
  }
  return signerKey;
}

// ---- agent keys -------------------------------------------------------------------------------

/** A stored agent key, as listed without decrypting it. */
export type KeyInfo = { name: string; address: Address; path: string };

/** A decrypted agent key. The private key stays in memory and is never printed. */
export type UnlockedKey = KeyInfo & { privateKey: Uint8Array };

function keystoreAddress(text: string, path: string): Address {
  let address: unknown;
  try {
    address = (JSON.parse(text) as { address?: unknown }).address;
  } catch {
    address = undefined;
  }
  if (typeof address !== "string" || !/^(0x)?[0-9a-fA-F]{40}$/.test(address)) {
    throw new ChaosCoreError("INVALID_INPUT", `${path} is not an Ethereum keystore v3 file`);
  }
  return `0x${address.replace(/^0x/, "").toLowerCase()}` as Address;
}

/** Every key in keys/, by name. */
export async function listKeys(dir: string): Promise<KeyInfo[]> {
  const paths = dataPaths(dir);
  let files: string[];
  try {
    files = await readdir(paths.keys);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const keys: KeyInfo[] = [];
  for (const file of files.filter((f) => f.endsWith(".json")).sort()) {
    const name = file.slice(0, -".json".length);
    const path = paths.key(name);
    keys.push({ name, address: keystoreAddress(await readFile(path, "utf8"), path), path });
  }
  return keys;
}

/**
 * The address of a stored key (no password needed: keystores carry it in clear).
 * @throws UsageError when there is no such key.
 */
export async function keyInfo(dir: string, name: string): Promise<KeyInfo> {
  const path = dataPaths(dir).key(checkKeyName(name));
  const text = await readText(path);
  if (text === undefined) {
    if (!(await isInitialized(dir))) throw notInitialized(dir);
    throw new UsageError(
      `no key named ${JSON.stringify(name)} in ${dataPaths(dir).keys} (create it with \`chaoscore key new ${name}\`)`,
    );
  }
  return { name, address: keystoreAddress(text, path), path };
}

/** True when keys/<name>.json exists. */
export async function hasKey(dir: string, name: string): Promise<boolean> {
  return (await readText(dataPaths(dir).key(checkKeyName(name)))) !== undefined;
}

let nativeScrypt = false;

/**
 * Loads ethers with its scrypt replaced by Node's native one (same result,
 * about twice as fast), for keystore encryption and decryption.
 */
async function loadEthers() {
  const ethers = await import("ethers");
  if (!nativeScrypt) {
    nativeScrypt = true;
    ethers.scrypt.register(
      (password, salt, N, r, p, dkLen) =>
        new Promise((resolve, reject) => {
          nodeScrypt(
            password,
            salt,
            dkLen,
            { N, r, p, maxmem: 256 * N * r + 1024 * 1024 },
            (e, k) => (e === null ? resolve(new Uint8Array(k)) : reject(e)),
          );
        }),
    );
  }
  return ethers;
}

/**
 * Creates a random key, encrypts it (keystore v3, ethers `Wallet.encrypt`) and
 * writes keys/<name>.json (mode 0600). Never overwrites.
 */
export async function createKey(dir: string, name: string, password: string): Promise<KeyInfo> {
  const paths = dataPaths(dir);
  const path = paths.key(checkKeyName(name));
  const { Wallet } = await loadEthers();
  const wallet = new Wallet(`0x${randomBytes(32).toString("hex")}`);
  const keystore = await wallet.encrypt(password);
  await mkdir(paths.keys, { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, `${keystore}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new UsageError(`a key named ${JSON.stringify(name)} already exists (${path})`);
    }
    throw error;
  }
  return { name, address: wallet.address.toLowerCase() as Address, path };
}

/**
 * Decrypts keys/<name>.json with the keystore password.
 * @throws ChaosCoreError CLI_KEYSTORE_PASSWORD when the password is missing or wrong.
 */
export async function unlockKey(dir: string, name: string): Promise<UnlockedKey> {
  const info = await keyInfo(dir, name);
  const password = await readPassword(`Password for key '${name}': `);
  const { Wallet } = await loadEthers();
  let privateKey: string;
  try {
    const wallet = await Wallet.fromEncryptedJson(await readFile(info.path, "utf8"), password);
    privateKey = wallet.privateKey;
  } catch (cause) {
    const wrong = /password/i.test((cause as Error)?.message ?? "");
    throw new ChaosCoreError(
      wrong ? "CLI_KEYSTORE_PASSWORD" : "INVALID_INPUT",
      wrong
        ? `wrong password for key ${JSON.stringify(name)} (${info.path})`
        : `${info.path} is not a readable keystore v3 file`,
    );
  }
  return { ...info, privateKey: Uint8Array.from(Buffer.from(privateKey.slice(2), "hex")) };
}

/**
 * The keystore password: `CHAOSCORE_PASSWORD`, else a hidden prompt when stdin
 * is a terminal (twice with `confirm`).
 * @throws ChaosCoreError CLI_KEYSTORE_PASSWORD when neither is available, or the two entries differ.
 */
export async function readPassword(prompt: string, confirm = false): Promise<string> {
  const fromEnv = process.env.CHAOSCORE_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (!process.stdin.isTTY) {
    throw new ChaosCoreError(
      "CLI_KEYSTORE_PASSWORD",
      "no keystore password: set CHAOSCORE_PASSWORD (or run in a terminal to be asked for it)",
    );
  }
  const password = await promptHidden(prompt);
  if (password === "") {
    throw new ChaosCoreError("CLI_KEYSTORE_PASSWORD", "the keystore password is empty");
  }
  if (confirm && (await promptHidden("Repeat the password: ")) !== password) {
    throw new ChaosCoreError("CLI_KEYSTORE_PASSWORD", "the two passwords differ");
  }
  return password;
}
