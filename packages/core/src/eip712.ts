import { secp256k1 } from "@noble/curves/secp256k1.js";
import { ChaosCoreError } from "./errors.js";
import { keccak256, utf8 } from "./hash.js";
import { type Address, bytesToHex, concatBytes, type Hex, hexToBytes, isHex } from "./hex.js";
import { getSecp256k1Recovery } from "./secp256k1-recover.js";

/**
 * EIP-712 typed data for everything an agent signs. Every message carries the
 * agent, a nonce and an expiry; the domain carries the chain id and the
 * deployment (`verifyingContract`), so a signature made for one chain or one
 * deployment never verifies on another.
 *
 * Values are carried in their JSON form: addresses and bytes32 as lowercase
 * 0x-hex, uint64 as decimal strings (no precision loss), strings as strings.
 */
export const EIP712_DOMAIN_NAME = "ChaosCore";
/** Version 2 added `verifyingContract` (the deployment) to the domain. */
export const EIP712_DOMAIN_VERSION = "2";

type FieldType = "address" | "bytes32" | "bytes32[]" | "string" | "uint64";
type Field = { readonly name: string; readonly type: FieldType };

/** The typed-data structs, in EIP-712 `types` form (usable with ethers/viem as is). */
export const EIP712_TYPES = {
  Action: [
    { name: "agent", type: "address" },
    { name: "studio", type: "string" },
    { name: "task", type: "string" },
    { name: "actionType", type: "string" },
    { name: "payloadHash", type: "bytes32" },
    { name: "parents", type: "bytes32[]" },
    { name: "attestationHash", type: "bytes32" },
    { name: "timestamp", type: "uint64" },
    { name: "nonce", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
  Outcome: [
    { name: "agent", type: "address" },
    { name: "action", type: "bytes32" },
    { name: "status", type: "string" },
    { name: "resultHash", type: "bytes32" },
    { name: "metricsHash", type: "bytes32" },
    { name: "timestamp", type: "uint64" },
    { name: "nonce", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
  RegisterAgent: [
    { name: "agent", type: "address" },
    { name: "cardHash", type: "bytes32" },
    { name: "nonce", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
  UpdateAgentCard: [
    { name: "agent", type: "address" },
    { name: "cardHash", type: "bytes32" },
    { name: "version", type: "uint64" },
    { name: "nonce", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
  RotateAgentKey: [
    { name: "agent", type: "address" },
    { name: "newSigner", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
  RevokeAgent: [
    { name: "agent", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
  Request: [
    { name: "agent", type: "address" },
    { name: "origin", type: "string" },
    { name: "method", type: "string" },
    { name: "path", type: "string" },
    { name: "bodyHash", type: "bytes32" },
    { name: "nonce", type: "bytes32" },
    { name: "expiry", type: "uint64" },
  ],
  ProveAgentControl: [
    { name: "agent", type: "address" },
    { name: "nonce", type: "bytes32" },
    { name: "expiry", type: "uint64" },
  ],
} as const satisfies Record<string, readonly Field[]>;

/** The name of a signed struct. */
export type MessageKind = keyof typeof EIP712_TYPES;

type ValueOf<T extends FieldType> = T extends "bytes32[]"
  ? Hex[]
  : T extends "string"
    ? string
    : Hex;
type FieldValue<T extends FieldType> = T extends "uint64" ? string : ValueOf<T>;

/** The JSON form of a struct of kind K. */
export type TypedMessage<K extends MessageKind> = {
  -readonly [F in (typeof EIP712_TYPES)[K][number] as F["name"]]: FieldValue<F["type"]>;
};

export type ActionMessage = TypedMessage<"Action">;
export type OutcomeMessage = TypedMessage<"Outcome">;

/**
 * What a signature is bound to: the chain and the deployment. The deployment
 * is the address of its IdentityRegistry contract, or, for a deployment
 * without a chain, {@link deploymentAddress} of its deployment id.
 */
export type SigningDomain = { chainId: bigint | number; verifyingContract: Address };

/** The full EIP-712 domain of ChaosCore (usable with ethers/viem as is). */
export type Eip712Domain = {
  name: string;
  version: string;
  chainId: bigint;
  verifyingContract: Address;
};

/** Returns the ChaosCore EIP-712 domain for a chain and deployment. */
export function chaosCoreDomain(domain: SigningDomain): Eip712Domain {
  return {
    name: EIP712_DOMAIN_NAME,
    version: EIP712_DOMAIN_VERSION,
    chainId: BigInt(domain.chainId),
    verifyingContract: domain.verifyingContract,
  };
}

/**
 * The `verifyingContract` of a deployment without a chain: the last 20 bytes
 * of keccak256("chaoscore.deployment:" ‖ id).
 * @example deploymentAddress("3f9c2a…") // a fresh id per data directory
 */
export function deploymentAddress(id: string): Address {
  if (typeof id !== "string" || id.length === 0 || id.length > 200) {
    throw new ChaosCoreError("INVALID_INPUT", "a deployment id is 1 to 200 characters");
  }
  return bytesToHex(keccak256(utf8(`chaoscore.deployment:${id}`)).subarray(12));
}

/**
 * The deployment of development and tests (`deploymentAddress("development")`):
 * what signers use when they are not told a deployment. Never use it for a
 * deployment that others can reach: signatures made for it verify on every
 * other development deployment.
 */
export const DEVELOPMENT_DEPLOYMENT: Address = deploymentAddress("development");

/**
 * Builds a {@link SigningDomain}, checking it.
 * @throws ChaosCoreError INVALID_INPUT on a chain id ≤ 0 or a malformed address.
 */
export function signingDomain(
  chainId: bigint | number | string,
  verifyingContract: string = DEVELOPMENT_DEPLOYMENT,
): SigningDomain {
  let id: bigint;
  try {
    id = BigInt(chainId);
  } catch {
    throw new ChaosCoreError("INVALID_INPUT", "a chain id is a positive integer");
  }
  if (id <= 0n || id > MAX_UINT256) {
    throw new ChaosCoreError("INVALID_INPUT", "a chain id is a positive integer");
  }
  if (!isHex(verifyingContract, 20)) {
    throw new ChaosCoreError(
      "INVALID_INPUT",
      "verifyingContract must be a lowercase 0x-hex address",
    );
  }
  return { chainId: id, verifyingContract };
}

const UINT64_RE = /^(?:0|[1-9][0-9]{0,19})$/;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT256 = (1n << 256n) - 1n;
const ZERO_PAD = new Uint8Array(32);

function encodeTypeString(kind: MessageKind): string {
  const fields = EIP712_TYPES[kind] as readonly Field[];
  return `${kind}(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`;
}

const TYPE_HASHES = Object.fromEntries(
  (Object.keys(EIP712_TYPES) as MessageKind[]).map((k) => [k, keccak256(encodeTypeString(k))]),
) as Record<MessageKind, Uint8Array>;

const DOMAIN_TYPE_HASH = keccak256(
  "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
);

function uint256(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = value;
  for (let i = 31; i >= 0 && v > 0n; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function fail(kind: MessageKind, field: string, expected: string): never {
  throw new ChaosCoreError("INVALID_INPUT", `${kind}.${field} must be ${expected}`, {
    details: { kind, field },
  });
}

/**
 * Writes the 32-byte EIP-712 encoding of one field at `offset` of `out`
 * (one buffer per struct: no per-field arrays, no concatenation). Hex is
 * checked while it is decoded (one pass, no regular expression).
 */
function encodeFieldInto(
  kind: MessageKind,
  field: Field,
  value: unknown,
  out: Uint8Array,
  offset: number,
): void {
  switch (field.type) {
    case "address":
      if (!writeHex(out, offset + 12, value, 20)) {
        fail(kind, field.name, "a lowercase 0x-hex address");
      }
      return;
    case "bytes32":
      if (!writeHex(out, offset, value, 32)) fail(kind, field.name, "lowercase 0x-hex of 32 bytes");
      return;
    case "bytes32[]": {
      if (!Array.isArray(value)) fail(kind, field.name, "an array of lowercase 0x-hex of 32 bytes");
      const items = new Uint8Array(32 * value.length);
      for (let i = 0; i < value.length; i++) {
        if (!writeHex(items, 32 * i, value[i], 32)) {
          fail(kind, field.name, "an array of lowercase 0x-hex of 32 bytes");
        }
      }
      // most actions have no parents
      out.set(items.length === 0 ? EMPTY_KECCAK : keccak256(items), offset);
      return;
    }
    case "string":
      if (typeof value !== "string") fail(kind, field.name, "a string");
      out.set(stringHash(value), offset);
      return;
    case "uint64":
      if (!(typeof value === "string" && UINT64_RE.test(value))) {
        fail(kind, field.name, "a decimal string of a uint64");
      }
      if (value.length <= 15) {
        // below 2^53: exact as a number, written as two 32-bit halves
        const n = Number(value);
        writeUint32(out, offset + 24, Math.floor(n / 0x100000000));
        writeUint32(out, offset + 28, n >>> 0);
        return;
      }
      if (BigInt(value) > MAX_UINT64) fail(kind, field.name, "a decimal string of a uint64");
      new DataView(out.buffer, out.byteOffset + offset + 24, 8).setBigUint64(0, BigInt(value));
      return;
  }
}

function writeUint32(out: Uint8Array, offset: number, n: number): void {
  out[offset] = n >>> 24;
  out[offset + 1] = (n >>> 16) & 0xff;
  out[offset + 2] = (n >>> 8) & 0xff;
  out[offset + 3] = n & 0xff;
}

/**
 * Decodes `value` into `out` at `offset` when it is lowercase 0x-hex of
 * exactly `bytes` bytes; false otherwise (`out` may then hold part of it).
 */
function writeHex(out: Uint8Array, offset: number, value: unknown, bytes: number): boolean {
  if (
    typeof value !== "string" ||
    value.length !== 2 + 2 * bytes ||
    value.charCodeAt(0) !== 48 ||
    value.charCodeAt(1) !== 120
  ) {
    return false;
  }
  return decodeHexDigits(out, offset, value, 2, bytes);
}

/**
 * Decodes `bytes` bytes of lowercase hex digits of `text` from index `start`
 * into `out` at `offset`; false at the first character that is not one
 * (`out` may then hold part of it).
 */
function decodeHexDigits(
  out: Uint8Array,
  offset: number,
  text: string,
  start: number,
  bytes: number,
): boolean {
  for (let i = 0; i < bytes; i++) {
    const hi = hexDigit(text.charCodeAt(start + 2 * i));
    const lo = hexDigit(text.charCodeAt(start + 1 + 2 * i));
    if ((hi | lo) < 0) return false;
    out[offset + i] = (hi << 4) | lo;
  }
  return true;
}

// '0'–'9' → 0–9, 'a'–'f' → 10–15, anything else → -1
function hexDigit(code: number): number {
  return code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 102 ? code - 87 : -1;
}

// The string fields (studio, task, actionType, status, origin, method, path)
// take few distinct values: their hashes are memoised (short strings, bounded),
// which saves a third of an entry digest.
const stringHashes = new Map<string, Uint8Array>();
const EMPTY_KECCAK = keccak256(new Uint8Array(0));

function stringHash(value: string): Uint8Array {
  let hash = stringHashes.get(value);
  if (hash === undefined) {
    hash = keccak256(utf8(value));
    if (value.length <= 256) {
      if (stringHashes.size >= 4096) stringHashes.clear();
      stringHashes.set(value, hash);
    }
  }
  return hash;
}

// The preimages of hashStruct and of the digest are written into these, not
// into new arrays: a typed array of more than 64 bytes is allocated outside
// V8's heap and counted against its limits (it brings full collections on),
// which cost more than hashing it — an action's and an outcome's digests took
// 18–21 µs with new arrays, 11–14 µs with these. Each is filled (zeroed
// first) and hashed within one synchronous call; nothing in between writes to
// it (an array field hashes its items in an array of its own).
const STRUCT_SCRATCH = new Uint8Array(
  32 * (1 + Math.max(...Object.values(EIP712_TYPES).map((fields) => fields.length))),
);
const DIGEST_SCRATCH = new Uint8Array(66);
DIGEST_SCRATCH[0] = 0x19;
DIGEST_SCRATCH[1] = 0x01;

/**
 * EIP-712 `hashStruct` of a message. Checks that the message has exactly the
 * struct's fields, each in its JSON form.
 * @throws ChaosCoreError INVALID_INPUT on a missing, extra or malformed field.
 */
export function hashStruct<K extends MessageKind>(kind: K, message: TypedMessage<K>): Uint8Array {
  const fields = EIP712_TYPES[kind] as readonly Field[];
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    throw new ChaosCoreError("INVALID_INPUT", `${kind} must be an object`);
  }
  const record = message as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length !== fields.length || !fields.every((f) => Object.hasOwn(record, f.name))) {
    const expected = fields.map((f) => f.name);
    throw new ChaosCoreError("INVALID_INPUT", `${kind} must have exactly the fields ${expected}`, {
      details: { kind, expected, got: keys.slice(0, 32) },
    });
  }
  const out = STRUCT_SCRATCH.subarray(0, 32 * (fields.length + 1)).fill(0);
  out.set(TYPE_HASHES[kind], 0);
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as Field;
    encodeFieldInto(kind, f, record[f.name], out, 32 * (i + 1));
  }
  return keccak256(out);
}

const domainSeparators = new Map<string, Uint8Array>();

/**
 * EIP-712 domain separator of ChaosCore for a chain and deployment (cached).
 * @throws ChaosCoreError INVALID_INPUT on a malformed domain.
 */
export function domainSeparator(domain: SigningDomain): Uint8Array {
  if (typeof domain !== "object" || domain === null) {
    throw new ChaosCoreError("INVALID_INPUT", "a signing domain is { chainId, verifyingContract }");
  }
  const id = BigInt(domain.chainId);
  const contract = domain.verifyingContract;
  const key = `${id}:${contract}`;
  let sep = domainSeparators.get(key);
  if (sep === undefined) {
    if (!isHex(contract, 20) || id < 0n || id > MAX_UINT256) {
      throw new ChaosCoreError(
        "INVALID_INPUT",
        "a signing domain is a chain id and a lowercase 0x-hex verifyingContract",
      );
    }
    const address = new Uint8Array(32);
    address.set(hexToBytes(contract), 12);
    sep = keccak256(
      concatBytes(
        DOMAIN_TYPE_HASH,
        keccak256(EIP712_DOMAIN_NAME),
        keccak256(EIP712_DOMAIN_VERSION),
        uint256(id),
        address,
      ),
    );
    if (domainSeparators.size > 1024) domainSeparators.clear();
    domainSeparators.set(key, sep);
  }
  return sep;
}

/**
 * The EIP-712 digest `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message))`:
 * what the agent's key signs, and the id of an action or outcome.
 * @throws ChaosCoreError INVALID_INPUT when the message is malformed.
 */
export function typedDataDigest<K extends MessageKind>(
  kind: K,
  message: TypedMessage<K>,
  domain: SigningDomain,
): Uint8Array {
  return typedDataDigestUnder(kind, message, domainSeparator(domain));
}

/**
 * {@link typedDataDigest} under a domain separator already computed (by
 * {@link domainSeparator}).
 * @throws ChaosCoreError INVALID_INPUT when the message is malformed.
 */
export function typedDataDigestUnder<K extends MessageKind>(
  kind: K,
  message: TypedMessage<K>,
  separator: Uint8Array,
): Uint8Array {
  const structHash = hashStruct(kind, message);
  const out = DIGEST_SCRATCH;
  out.set(separator, 2);
  out.set(structHash, 34);
  return keccak256(out);
}

const SECP256K1_N = secp256k1.Point.CURVE().n;
// r and s are compared with these byte by byte (big-endian: as numbers compare).
const N_BYTES = uint256(SECP256K1_N);
const HALF_N_BYTES = uint256(SECP256K1_N / 2n);

/**
 * Splits a 65-byte Ethereum signature (r ‖ s ‖ v) and checks it is canonical:
 * v ∈ {27, 28}, 0 < r < n and 0 < s ≤ n/2 (EIP-2 low s).
 * @throws ChaosCoreError SIGNATURE_MALFORMED otherwise.
 */
export function parseSignature(signature: unknown): { compact: Uint8Array; recovery: 0 | 1 } {
  // r ‖ s decoded in place (no slices), then compared byte by byte, big-endian
  const compact = new Uint8Array(64);
  if (
    typeof signature !== "string" ||
    signature.length !== 132 ||
    signature.charCodeAt(0) !== 48 ||
    signature.charCodeAt(1) !== 120 ||
    !decodeHexDigits(compact, 0, signature, 2, 64) ||
    (hexDigit(signature.charCodeAt(130)) | hexDigit(signature.charCodeAt(131))) < 0
  ) {
    throw new ChaosCoreError("SIGNATURE_MALFORMED", "signature must be 65 bytes of lowercase hex");
  }
  const v = signature.charCodeAt(131); // "1b" or "1c": v = 27 or 28
  if (
    signature.charCodeAt(130) !== 49 ||
    (v !== 98 && v !== 99) ||
    isZero(compact, 0) ||
    compareAt(compact, 0, N_BYTES) >= 0 ||
    isZero(compact, 32) ||
    compareAt(compact, 32, HALF_N_BYTES) > 0
  ) {
    throw new ChaosCoreError("SIGNATURE_MALFORMED", "signature is not canonical (v, r or high s)");
  }
  return { compact, recovery: v === 98 ? 0 : 1 };
}

/** True when the 32 bytes of `bytes` at `offset` are all zero. */
function isZero(bytes: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 32; i++) if (bytes[offset + i] !== 0) return false;
  return true;
}

/** The sign of (the 32 bytes of `bytes` at `offset`) − `than`, both big-endian. */
function compareAt(bytes: Uint8Array, offset: number, than: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = (bytes[offset + i] as number) - (than[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** The Ethereum address of an uncompressed (65-byte) or compressed (33-byte) public key. */
export function publicKeyToAddress(publicKey: Uint8Array): Address {
  const uncompressed =
    publicKey.length === 65 ? publicKey : secp256k1.Point.fromBytes(publicKey).toBytes(false);
  return bytesToHex(keccak256(uncompressed.subarray(1)).subarray(12));
}

/** A fresh random secp256k1 private key (32 bytes). */
export function generatePrivateKey(): Uint8Array {
  return secp256k1.utils.randomSecretKey();
}

/** The address of a 32-byte secp256k1 private key. */
export function privateKeyToAddress(privateKey: Uint8Array): Address {
  return publicKeyToAddress(secp256k1.getPublicKey(privateKey, false));
}

/**
 * Signs a 32-byte digest with a secp256k1 key: a 65-byte r ‖ s ‖ v signature
 * (low s, v ∈ {27, 28}), as Ethereum wallets produce.
 */
export function signDigest(digest: Uint8Array, privateKey: Uint8Array): Hex {
  const sig = secp256k1.sign(digest, privateKey, { prehash: false, format: "recovered" });
  // noble's "recovered" format is recovery ‖ r ‖ s.
  return bytesToHex(concatBytes(sig.subarray(1), Uint8Array.of(27 + (sig[0] ?? 0))));
}

/**
 * Recovers the public key (uncompressed, 65 bytes) that made `signature` over `digest`.
 * @throws ChaosCoreError SIGNATURE_MALFORMED / SIGNATURE_INVALID.
 */
export function recoverPublicKey(digest: Uint8Array, signature: Hex): Uint8Array {
  const { compact, recovery } = parseSignature(signature);
  // The recovery in use: noble-curves by default, libsecp256k1 where the engine installed it.
  const publicKey =
    digest.length === 32
      ? getSecp256k1Recovery().recoverPublicKey(digest, compact, recovery)
      : null;
  if (publicKey === null) {
    throw new ChaosCoreError("SIGNATURE_INVALID", "signature does not recover a public key");
  }
  return publicKey;
}

/**
 * Recovers the signer address of `signature` over `digest`.
 * @throws ChaosCoreError SIGNATURE_MALFORMED / SIGNATURE_INVALID.
 */
export function recoverAddress(digest: Uint8Array, signature: Hex): Address {
  return publicKeyToAddress(recoverPublicKey(digest, signature));
}

/**
 * Signs a typed message for a chain and deployment with `privateKey`.
 * @example
 * const sig = signTypedMessage("RevokeAgent", { agent, nonce: "1", expiry: "1900000000" }, signingDomain(31337n, registry), key)
 */
export function signTypedMessage<K extends MessageKind>(
  kind: K,
  message: TypedMessage<K>,
  domain: SigningDomain,
  privateKey: Uint8Array,
): Hex {
  return signDigest(typedDataDigest(kind, message, domain), privateKey);
}

/**
 * Verifies that `signature` over a typed message was made by `expected`.
 * @returns the digest (the message id).
 * @throws ChaosCoreError INVALID_INPUT / SIGNATURE_MALFORMED / SIGNATURE_INVALID.
 */
export function verifyTypedMessage<K extends MessageKind>(
  kind: K,
  message: TypedMessage<K>,
  domain: SigningDomain,
  signature: Hex,
  expected: Address,
): Uint8Array {
  const digest = typedDataDigest(kind, message, domain);
  const signer = recoverAddress(digest, signature);
  if (signer !== expected.toLowerCase()) {
    throw new ChaosCoreError("SIGNATURE_INVALID", "signature was made by another key", {
      details: { expected, signer },
    });
  }
  return digest;
}

/** 32 zero bytes as hex: the "none" value of optional bytes32 fields. */
export const ZERO_HASH: Hex = bytesToHex(ZERO_PAD);
