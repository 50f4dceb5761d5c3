/**
 * The mock TEE's root key of a data directory (`tee-root.json`, mode 0600):
 * `exec run` certifies its enclave key with it, and the engine and `receipt
 * verify` trust its public key. A real deployment trusts a vendor's root
 * (AWS Nitro, Intel) instead; `CHAOSCORE_TEE_ROOTS` (comma-separated Ed25519
 * public keys) adds roots to trust.
 * @module
 */
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Ed25519KeyPair, Hex } from "@chaoscore/core";

const FILE = "tee-root.json";
const FORMAT = "chaoscore.mock-tee-root/v1";

/** The data dir's mock TEE root key, if one was created. */
export async function readTeeRoot(dataDir: string): Promise<Ed25519KeyPair | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dataDir, FILE), "utf8")) as {
      format: string;
      secretKey: Hex;
      publicKey: Hex;
    };
    if (parsed.format !== FORMAT) return undefined;
    return { secretKey: parsed.secretKey, publicKey: parsed.publicKey };
  } catch {
    return undefined;
  }
}

/** The data dir's mock TEE root key, created on first use. */
export async function ensureTeeRoot(dataDir: string): Promise<Ed25519KeyPair> {
  const existing = await readTeeRoot(dataDir);
  if (existing !== undefined) return existing;
  const { MockTeeProvider } = await import("@chaoscore/sandbox");
  const key = MockTeeProvider.generateRootKey();
  const path = join(dataDir, FILE);
  await writeFile(path, `${JSON.stringify({ format: FORMAT, ...key }, null, 2)}\n`, {
    mode: 0o600,
  });
  await chmod(path, 0o600);
  return key;
}

/** The attestation roots to trust: the data dir's mock root and CHAOSCORE_TEE_ROOTS. */
export async function trustedTeeRoots(dataDir: string): Promise<Hex[]> {
  const roots: Hex[] = [];
  const own = await readTeeRoot(dataDir);
  if (own !== undefined) roots.push(own.publicKey);
  for (const r of (process.env.CHAOSCORE_TEE_ROOTS ?? "").split(",")) {
    const key = r.trim().toLowerCase();
    if (/^0x[0-9a-f]{64}$/.test(key)) roots.push(key as Hex);
  }
  return roots;
}
