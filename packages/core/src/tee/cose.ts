/**
 * COSE_Sign1 (RFC 9052 §4.2) decoding and its signing input, over cborg (a
 * strict, dependency-free CBOR codec that runs in Node and browsers). Only
 * what AWS Nitro attestation documents use.
 *
 * @module
 */
import { decode, encode } from "cborg";
import { ChaosCoreError } from "../errors.js";

/** COSE algorithm identifiers (IANA "COSE Algorithms"). */
export const COSE_ALG_ES384 = -35;
/** CBOR tag of a COSE_Sign1 structure (optional in front of the array). */
export const COSE_SIGN1_TAG = 18;

/** The four members of a COSE_Sign1 structure. */
export type CoseSign1 = {
  protectedHeader: Uint8Array;
  /** The decoded protected header (integer labels). */
  protectedMap: ReadonlyMap<unknown, unknown>;
  unprotected: ReadonlyMap<unknown, unknown>;
  payload: Uint8Array;
  signature: Uint8Array;
};

const DECODE_OPTIONS = {
  useMaps: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
};

/**
 * Decodes CBOR with the strict options used for attestation evidence (maps as
 * `Map`, no duplicate keys, no indefinite lengths, no undefined/NaN/Infinity,
 * no tags except the one given).
 *
 * @throws ChaosCoreError ATTESTATION_EVIDENCE_MALFORMED for anything else,
 *   truncated input and trailing bytes included.
 */
export function decodeCbor(data: Uint8Array, allowTag?: number): unknown {
  try {
    const tags: NonNullable<Parameters<typeof decode>[1]>["tags"] = {};
    if (allowTag !== undefined) tags[allowTag] = (inner) => inner();
    return decode(data, { ...DECODE_OPTIONS, tags });
  } catch (cause) {
    throw new ChaosCoreError("ATTESTATION_EVIDENCE_MALFORMED", "the evidence is not valid CBOR", {
      details: { cause: String(cause instanceof Error ? cause.message : cause) },
    });
  }
}

/** Encodes a value as CBOR (cborg; maps with string or integer keys, byte strings as Uint8Array). */
export function encodeCbor(value: unknown): Uint8Array {
  return encode(value);
}

/**
 * Decodes a COSE_Sign1 structure (tagged or not).
 *
 * @throws ChaosCoreError ATTESTATION_EVIDENCE_MALFORMED when it is not one.
 */
export function decodeCoseSign1(data: Uint8Array): CoseSign1 {
  const value = decodeCbor(data, COSE_SIGN1_TAG);
  if (!Array.isArray(value) || value.length !== 4) {
    throw malformed("the evidence is not a COSE_Sign1 array of four members");
  }
  const [protectedHeader, unprotected, payload, signature] = value as unknown[];
  if (
    !(protectedHeader instanceof Uint8Array) ||
    !(unprotected instanceof Map) ||
    !(payload instanceof Uint8Array) ||
    !(signature instanceof Uint8Array)
  ) {
    throw malformed("the COSE_Sign1 members have the wrong types");
  }
  const protectedMap = protectedHeader.length === 0 ? new Map() : decodeCbor(protectedHeader);
  if (!(protectedMap instanceof Map)) throw malformed("the COSE protected header is not a map");
  return { protectedHeader, protectedMap, unprotected, payload, signature };
}

/**
 * The bytes a COSE_Sign1 signature covers: `Sig_structure = ["Signature1",
 * protected, external_aad, payload]` in CBOR (RFC 9052 §4.4).
 */
export function coseSign1SigningInput(
  protectedHeader: Uint8Array,
  payload: Uint8Array,
  externalAad: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return encode(["Signature1", protectedHeader, externalAad, payload]);
}

function malformed(message: string): ChaosCoreError {
  return new ChaosCoreError("ATTESTATION_EVIDENCE_MALFORMED", message);
}
