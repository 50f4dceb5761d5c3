import { createRequire } from "node:module";
import { type Secp256k1Recovery, setSecp256k1Recovery } from "@chaoscore/core";
import { recover as wasmRecover } from "tiny-secp256k1";

/**
 * Which secp256k1 recovery the engine uses, set by the environment variable
 * `CHAOSCORE_SECP256K1`: `native` (the default) loads libsecp256k1 through the
 * npm package `secp256k1` (a prebuilt Node-API binary inside the package) and
 * falls back to WebAssembly when it cannot load; `wasm` forces the fallback
 * (tiny-secp256k1, libsecp256k1 compiled to WebAssembly).
 */
export const SECP256K1_ENV = "CHAOSCORE_SECP256K1";

export type Secp256k1Choice = "native" | "wasm";

type NativeBinding = {
  ecdsaRecover(
    sig: Uint8Array,
    recid: number,
    msg32: Uint8Array,
    compressed: boolean,
    output?: Uint8Array,
  ): Uint8Array;
};

/**
 * libsecp256k1 through the `secp256k1` package's native binding only (never
 * its bundled pure-JavaScript `elliptic` fallback), or null with the reason
 * it did not load.
 */
export function loadNativeSecp256k1(): { recovery: Secp256k1Recovery | null; reason: string } {
  let binding: NativeBinding;
  try {
    binding = createRequire(import.meta.url)("secp256k1/bindings") as NativeBinding;
  } catch (error) {
    return { recovery: null, reason: (error as Error).message.split("\n")[0] ?? "load failed" };
  }
  return {
    recovery: {
      name: "libsecp256k1 (native, npm secp256k1)",
      recoverPublicKey(digest, compact, recovery) {
        try {
          return binding.ecdsaRecover(compact, recovery, digest, false, new Uint8Array(65));
        } catch {
          return null;
        }
      },
    },
    reason: "loaded",
  };
}

/** The fallback: libsecp256k1 compiled to WebAssembly (tiny-secp256k1). */
export const wasmSecp256k1: Secp256k1Recovery = {
  name: "libsecp256k1 (WebAssembly, tiny-secp256k1)",
  recoverPublicKey(digest, compact, recovery) {
    try {
      return wasmRecover(digest, compact, recovery, false);
    } catch {
      return null;
    }
  },
};

/**
 * Chooses the recovery for `choice` (default: the environment variable, else
 * native). Pure: does not install or log anything.
 * @returns the recovery and, when it is the fallback although native was
 * wanted or forced, why.
 */
export function chooseSecp256k1(choice: Secp256k1Choice = envChoice()): {
  recovery: Secp256k1Recovery;
  native: boolean;
  fallbackReason: string | null;
} {
  if (choice === "wasm") {
    return {
      recovery: wasmSecp256k1,
      native: false,
      fallbackReason: `${SECP256K1_ENV}=wasm`,
    };
  }
  const { recovery, reason } = loadNativeSecp256k1();
  if (recovery === null) return { recovery: wasmSecp256k1, native: false, fallbackReason: reason };
  return { recovery, native: true, fallbackReason: null };
}

function envChoice(): Secp256k1Choice {
  return process.env[SECP256K1_ENV] === "wasm" ? "wasm" : "native";
}

let installed: ReturnType<typeof chooseSecp256k1> | undefined;

/**
 * The engine's secp256k1 recovery, chosen once per process and installed in
 * core (so that `recoverAddress`, `verifyEntry` and `verifyReceipt` use it
 * too). When it is the fallback, says so once on stderr.
 * @example
 * engineSecp256k1().recovery.name // "libsecp256k1 (native, npm secp256k1)"
 */
export function engineSecp256k1(
  warn: (message: string) => void = (m) => process.stderr.write(`${m}\n`),
): ReturnType<typeof chooseSecp256k1> {
  if (installed === undefined) {
    installed = chooseSecp256k1();
    setSecp256k1Recovery(installed.recovery);
    if (installed.fallbackReason !== null) {
      warn(
        `chaoscore: secp256k1 recovery falls back to ${installed.recovery.name} (${installed.fallbackReason}); ingest is several times slower than with the native binding`,
      );
    }
  }
  return installed;
}
