import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Address,
  bytesToHex,
  entryDigest,
  getSecp256k1Recovery,
  type Hex,
  hexToBytes,
  isChaosCoreError,
  nobleRecovery,
  parseEntry,
  recoverAddress,
  type Secp256k1Recovery,
  setSecp256k1Recovery,
  signDigest,
  type VerifyReceiptOptions,
  verifyReceipt,
  verifyTeeEvidence,
} from "@chaoscore/core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  chooseSecp256k1,
  loadNativeSecp256k1,
  SECP256K1_ENV,
  wasmSecp256k1,
} from "./native-secp256k1.js";
import { InlineSignatureVerifier, WorkerSignatureVerifier } from "./signature-verifier.js";

const VECTORS = join(import.meta.dirname, "..", "..", "..", "..", "vectors");
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const native = loadNativeSecp256k1().recovery as Secp256k1Recovery;

/** Address or error code: what a caller can observe. */
async function outcome(fn: () => Address | Promise<Address>): Promise<string> {
  try {
    return await fn();
  } catch (error) {
    if (isChaosCoreError(error)) return error.code;
    throw error; // a stray error is a bug on any path
  }
}

function withRecovery<T>(recovery: Secp256k1Recovery, fn: () => T): T {
  const before = getSecp256k1Recovery();
  setSecp256k1Recovery(recovery);
  try {
    return fn();
  } finally {
    setSecp256k1Recovery(before);
  }
}

let nativeWorkers: WorkerSignatureVerifier;
let wasmWorkers: WorkerSignatureVerifier;
beforeAll(() => {
  nativeWorkers = new WorkerSignatureVerifier(1, { backend: "native" });
  wasmWorkers = new WorkerSignatureVerifier(1, { backend: "wasm" });
});
afterAll(async () => {
  await nativeWorkers.close();
  await wasmWorkers.close();
});

/** The signer of `signature` over `digest` on every path the project has, by name. */
async function everyPath(digest: Uint8Array, signature: Hex): Promise<Record<string, string>> {
  const inline = new InlineSignatureVerifier();
  return {
    coreNoble: await outcome(() =>
      withRecovery(nobleRecovery, () => recoverAddress(digest, signature)),
    ),
    coreNative: await outcome(() => withRecovery(native, () => recoverAddress(digest, signature))),
    coreWasm: await outcome(() =>
      withRecovery(wasmSecp256k1, () => recoverAddress(digest, signature)),
    ),
    inline: await outcome(() => inline.recover(digest, signature)),
    workerNative: await outcome(() => nativeWorkers.recover(digest, signature)),
    workerWasm: await outcome(() => wasmWorkers.recover(digest, signature)),
  };
}

function expectAllEqual(results: Record<string, string>, expected?: string): void {
  const first = results.coreNoble as string;
  for (const [path, value] of Object.entries(results)) {
    expect({ path, value }).toEqual({ path, value: expected ?? first });
  }
}

describe("loadNativeSecp256k1", () => {
  it("loads the prebuilt binary of the npm package secp256k1 on this platform", () => {
    const loaded = loadNativeSecp256k1();
    expect(loaded.reason).toBe("loaded");
    expect(loaded.recovery?.name).toMatch(/native/);
  });
});

describe("chooseSecp256k1", () => {
  it("chooses native by default and WebAssembly when forced, saying why", () => {
    expect(chooseSecp256k1("native")).toMatchObject({ native: true, fallbackReason: null });
    const forced = chooseSecp256k1("wasm");
    expect(forced.native).toBe(false);
    expect(forced.recovery).toBe(wasmSecp256k1);
    expect(forced.fallbackReason).toBe(`${SECP256K1_ENV}=wasm`);
  });
});

describe("engineSecp256k1", () => {
  it(`with ${SECP256K1_ENV}=wasm installs the fallback in core and says so once`, async () => {
    vi.resetModules();
    const before = process.env[SECP256K1_ENV];
    process.env[SECP256K1_ENV] = "wasm";
    try {
      const fresh = await import("./native-secp256k1.js");
      const core = await import("@chaoscore/core");
      const warn = vi.fn();
      expect(fresh.engineSecp256k1(warn).native).toBe(false);
      fresh.engineSecp256k1(warn);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]?.[0]).toMatch(/falls back to libsecp256k1 \(WebAssembly/);
      expect(core.getSecp256k1Recovery().name).toBe(fresh.wasmSecp256k1.name);
    } finally {
      if (before === undefined) delete process.env[SECP256K1_ENV];
      else process.env[SECP256K1_ENV] = before;
      vi.resetModules();
    }
  });

  it("without it, installs native in core and says nothing", async () => {
    vi.resetModules();
    const fresh = await import("./native-secp256k1.js");
    const core = await import("@chaoscore/core");
    const warn = vi.fn();
    expect(fresh.engineSecp256k1(warn).native).toBe(true);
    expect(warn).not.toHaveBeenCalled();
    expect(core.getSecp256k1Recovery().name).toMatch(/native/);
    vi.resetModules();
  });
});

describe("every recovery path gives the same signer", () => {
  // biome-ignore lint/suspicious/noExplicitAny: vectors are untyped JSON
  const load = (dir: string, f: string): any =>
    JSON.parse(readFileSync(join(VECTORS, dir, f), "utf8"));
  const python = readdirSync(join(VECTORS, "python-signed")).filter((f) => f.endsWith(".json"));

  it.each(python)("vectors/python-signed/%s", async (f) => {
    const v = load("python-signed", f);
    let digest: Uint8Array;
    let signature: Hex;
    if (v.entry !== undefined) {
      const entry = parseEntry(v.entry);
      digest = entryDigest(entry);
      signature = entry.signature;
    } else {
      digest = hexToBytes(v.expected.digest);
      signature = v.request.signature ?? v.request.headers?.["ChaosCore-Signature"];
    }
    expect(signature).toMatch(/^0x[0-9a-f]{130}$/);
    expectAllEqual(await everyPath(digest, signature), v.expected.signer);
  });

  const receipts = readdirSync(join(VECTORS, "receipts")).filter((f) => f.endsWith(".json"));
  const logKey = readFileSync(join(VECTORS, "receipts", "log-key.txt"), "utf8").trim();
  it.each(receipts)("vectors/receipts/%s: verifyReceipt judges alike", async (f) => {
    const v = load("receipts", f);
    // As core's receipt tests read the vectors: real TEE evidence (v3) needs the evidence verifier.
    const options: VerifyReceiptOptions = {
      evidenceVerifier: verifyTeeEvidence,
      ...(v.attestationRoots ? { attestation: { trustedRoots: v.attestationRoots } } : {}),
      ...(v.attestationPolicy ? { attestationPolicy: v.attestationPolicy } : {}),
    };
    const judge = (r: Secp256k1Recovery) =>
      withRecovery(r, () => {
        try {
          return JSON.stringify(verifyReceipt(v.receipt, logKey, options));
        } catch (error) {
          if (isChaosCoreError(error)) return error.code;
          throw error;
        }
      });
    const byNoble = judge(nobleRecovery);
    expect(byNoble).toBe(v.expectedError ?? JSON.stringify(v.expected));
    expect(judge(native)).toBe(byNoble);
    expect(judge(wasmSecp256k1)).toBe(byNoble);
  });

  const toBytes32 = (x: bigint) => hexToBytes(`0x${x.toString(16).padStart(64, "0")}`);
  const mutation = fc.oneof(
    fc.constant({ kind: "none" as const }),
    fc.constant({ kind: "high-s" as const }),
    fc.constant({ kind: "flip-v" as const }),
    fc.constant({ kind: "v-out-of-range" as const }),
    fc.constant({ kind: "r-zero" as const }),
    fc.constant({ kind: "s-zero" as const }),
    fc.constant({ kind: "r-n" as const }),
    fc.constant({ kind: "truncated" as const }),
    fc.constant({ kind: "uppercase" as const }),
    fc.record({ kind: fc.constant("bit" as const), bit: fc.integer({ min: 0, max: 519 }) }),
    fc.record({
      kind: fc.constant("random" as const),
      bytes: fc.uint8Array({ minLength: 65, maxLength: 65 }),
    }),
  );

  function mutate(signature: Hex, m: { kind: string; bit?: number; bytes?: Uint8Array }): string {
    const b = hexToBytes(signature);
    const s = BigInt(bytesToHex(b.subarray(32, 64)));
    switch (m.kind) {
      case "none":
        return signature;
      case "high-s": // the same signature with s' = n − s and v flipped: valid ECDSA, not canonical
        b.set(toBytes32(N - s), 32);
        b[64] = (b[64] as number) === 27 ? 28 : 27;
        return bytesToHex(b);
      case "flip-v":
        b[64] = (b[64] as number) === 27 ? 28 : 27;
        return bytesToHex(b);
      case "v-out-of-range":
        b[64] = 1;
        return bytesToHex(b);
      case "r-zero":
        b.fill(0, 0, 32);
        return bytesToHex(b);
      case "s-zero":
        b.fill(0, 32, 64);
        return bytesToHex(b);
      case "r-n":
        b.set(toBytes32(N), 0);
        return bytesToHex(b);
      case "truncated":
        return signature.slice(0, -2);
      case "uppercase":
        return `0x${signature.slice(2).toUpperCase()}`;
      case "bit":
        b[(m.bit as number) >> 3] =
          (b[(m.bit as number) >> 3] as number) ^ (1 << ((m.bit as number) & 7));
        return bytesToHex(b);
      default:
        return bytesToHex(m.bytes as Uint8Array);
    }
  }

  it("on random keys and messages, with high-s and malformed signatures", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 1n, max: N - 1n }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        mutation,
        async (key, digest, m) => {
          const signature = signDigest(digest, toBytes32(key));
          const results = await everyPath(digest, mutate(signature, m) as Hex);
          expectAllEqual(results);
          if (m.kind === "none") expect(results.coreNoble).toMatch(/^0x[0-9a-f]{40}$/);
          if (m.kind === "high-s") expect(results.coreNoble).toBe("SIGNATURE_MALFORMED");
        },
      ),
      { numRuns: 300 },
    );
  });

  it("the raw recoveries agree on compact signatures, high s included", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: N - 1n }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.boolean(),
        fc.option(fc.uint8Array({ minLength: 64, maxLength: 64 }), { freq: 3 }),
        (key, digest, high, random) => {
          const sig = hexToBytes(signDigest(digest, toBytes32(key)));
          let compact = sig.slice(0, 64);
          let recovery = ((sig[64] as number) - 27) as 0 | 1;
          if (random !== null) compact = random;
          else if (high) {
            compact.set(toBytes32(N - BigInt(bytesToHex(compact.subarray(32)))), 32);
            recovery = (1 - recovery) as 0 | 1;
          }
          const hex = (r: Secp256k1Recovery) => {
            const pub = r.recoverPublicKey(digest, compact, recovery);
            return pub === null ? null : bytesToHex(pub);
          };
          const byNoble = hex(nobleRecovery);
          expect(hex(native)).toBe(byNoble);
          expect(hex(wasmSecp256k1)).toBe(byNoble);
        },
      ),
      { numRuns: 300 },
    );
  });
});
