/**
 * Local signing keys: from an encrypted Ethereum keystore v3 file (D2) or a
 * raw private key (tests, anvil's public dev keys). The key lives in a private
 * field and never appears in `JSON.stringify`, `util.inspect`, `String()` or
 * errors.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { ChaosCoreError, isChaosCoreError } from "@chaoscore/core";
import { encryptKeystoreJson, isKeystoreJson, Wallet } from "ethers";
import type {
  Address,
  ChainSigner,
  Hex,
  TypedDataDomain,
  TypedDataTypes,
  UnsignedTransaction,
} from "./types.js";

/** The environment variable holding the keystore password. */
export const PASSWORD_ENV = "CHAOSCORE_PASSWORD";

/**
 * A {@link ChainSigner} holding a secp256k1 private key in memory.
 *
 * @example
 * ```ts
 * const signer = await loadKeystore({ path: "operator.json" }); // password from CHAOSCORE_PASSWORD
 * JSON.stringify(signer); // {"address":"0x…"}
 * ```
 */
export class LocalSigner implements ChainSigner {
  readonly address: Address;
  readonly #wallet: Wallet;

  private constructor(wallet: Wallet) {
    this.#wallet = wallet;
    this.address = wallet.address as Address;
  }

  /**
   * A signer from a 32-byte hex private key.
   * @throws ChaosCoreError CHAIN_KEYSTORE_INVALID when the key is malformed (the key is not echoed).
   */
  static fromPrivateKey(privateKey: Hex | string): LocalSigner {
    if (typeof privateKey !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(privateKey)) {
      throw new ChaosCoreError(
        "CHAIN_KEYSTORE_INVALID",
        "a private key must be 32 bytes of 0x-hex",
      );
    }
    try {
      return new LocalSigner(new Wallet(privateKey));
    } catch {
      throw new ChaosCoreError(
        "CHAIN_KEYSTORE_INVALID",
        "the private key is not a valid secp256k1 key",
      );
    }
  }

  /** A new random key. */
  static random(): LocalSigner {
    const w = Wallet.createRandom();
    return new LocalSigner(new Wallet(w.privateKey));
  }

  /** @internal */
  static fromWallet(wallet: Wallet): LocalSigner {
    return new LocalSigner(wallet);
  }

  async signTransaction(tx: UnsignedTransaction): Promise<Hex> {
    return (await this.#wallet.signTransaction({
      type: 2,
      chainId: tx.chainId,
      nonce: tx.nonce,
      to: tx.to,
      data: tx.data,
      value: tx.value,
      gasLimit: tx.gasLimit,
      maxFeePerGas: tx.maxFeePerGas,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
    })) as Hex;
  }

  async signTypedData(
    domain: TypedDataDomain,
    types: TypedDataTypes,
    value: Record<string, unknown>,
  ): Promise<Hex> {
    return (await this.#wallet.signTypedData(
      domain,
      types as Record<string, { name: string; type: string }[]>,
      value,
    )) as Hex;
  }

  /**
   * The key as an encrypted keystore v3 JSON (scrypt). `scryptN` defaults to
   * 2^17 (ethers' default); tests may lower it.
   */
  async encrypt(password: string, options: { scryptN?: number } = {}): Promise<string> {
    return await encryptKeystoreJson(
      { address: this.#wallet.address, privateKey: this.#wallet.privateKey },
      password,
      options.scryptN === undefined ? {} : { scrypt: { N: options.scryptN } },
    );
  }

  toJSON(): { address: Address } {
    return { address: this.address };
  }

  toString(): string {
    return `LocalSigner(${this.address})`;
  }

  [inspect.custom](): string {
    return `LocalSigner { address: '${this.address}' }`;
  }
}

/** Where the keystore password comes from, in order: `password`, `CHAOSCORE_PASSWORD`, `prompt`. */
export type PasswordSource = {
  readonly password?: string;
  /** Asked when neither `password` nor the environment variable is set. */
  readonly prompt?: () => Promise<string>;
  /** The environment to read `CHAOSCORE_PASSWORD` from; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
};

/**
 * Decrypts an Ethereum keystore v3 file (or its JSON text).
 * @throws ChaosCoreError CHAIN_KEYSTORE_INVALID when the file cannot be read or is not keystore
 * v3 JSON; CHAIN_KEYSTORE_PASSWORD when no password is available or it does not decrypt the key.
 * @example
 * ```ts
 * const signer = await loadKeystore({ path: "key.json" }, { prompt: askPassword });
 * ```
 */
export async function loadKeystore(
  source: { readonly path: string } | { readonly json: string },
  passwords: PasswordSource = {},
): Promise<LocalSigner> {
  let json: string;
  if ("path" in source) {
    try {
      json = readFileSync(source.path, "utf8");
    } catch (e) {
      throw new ChaosCoreError(
        "CHAIN_KEYSTORE_INVALID",
        `cannot read the keystore ${source.path}`,
        {
          details: { path: source.path },
          cause: e,
        },
      );
    }
  } else {
    json = source.json;
  }
  const where = "path" in source ? { path: source.path } : {};
  if (typeof json !== "string" || !isKeystoreJson(json)) {
    throw new ChaosCoreError("CHAIN_KEYSTORE_INVALID", "not an Ethereum keystore v3 JSON", {
      details: where,
    });
  }
  const password = await resolvePassword(passwords);
  try {
    return LocalSigner.fromWallet((await Wallet.fromEncryptedJson(json, password)) as Wallet);
  } catch (e) {
    if (isChaosCoreError(e)) throw e;
    const message = e instanceof Error ? e.message : String(e);
    if (/password/i.test(message)) {
      throw new ChaosCoreError(
        "CHAIN_KEYSTORE_PASSWORD",
        "the password does not decrypt the keystore",
        {
          details: where,
        },
      );
    }
    throw new ChaosCoreError("CHAIN_KEYSTORE_INVALID", "the keystore cannot be decrypted", {
      details: where,
    });
  }
}

async function resolvePassword(source: PasswordSource): Promise<string> {
  const env = source.env ?? process.env;
  let password = source.password ?? env[PASSWORD_ENV];
  if (password === undefined && source.prompt !== undefined) password = await source.prompt();
  if (typeof password !== "string" || password === "") {
    throw new ChaosCoreError(
      "CHAIN_KEYSTORE_PASSWORD",
      `no keystore password: set ${PASSWORD_ENV} or provide a prompt`,
    );
  }
  return password;
}
