/**
 * The registry's request checks: parsing a signed request, its envelope
 * (uint64 ranges, chain, expiry), its card hash, who signed it, and whether
 * the agent's current state allows it (key, status, nonce, transition).
 * Every check throws a coded error before anything is written.
 * @module
 */
import {
  type Address,
  AddressHex,
  type AgentCard,
  agentCardHash,
  bytesToHex,
  compileParser,
  EIP712_TYPES,
  type ErrorCode,
  fail,
  type Hex,
  isChaosCoreError,
  type MessageKind,
  ProveAgentControlRequestSchema,
  publicKeyToAddress,
  RegisterAgentRequestSchema,
  RevokeAgentRequestSchema,
  RotateAgentKeyRequestSchema,
  recoverPublicKey,
  type TypedMessage,
  typedDataDigest,
  UpdateAgentCardRequestSchema,
} from "@chaoscore/core";
import type { AgentStatus } from "./agent.js";
import type { AgentRow } from "./agent-rows.js";
import type { RegistryContext } from "./registry-context.js";

const MAX_UINT64 = (1n << 64n) - 1n;

/** Any-case 0x-address. */
export const ADDRESS_ANY_CASE = /^0x[0-9a-fA-F]{40}$/;

/** Schema parsers of the signed requests (AGENT_REQUEST_MALFORMED). */
export const parseRegister = compileParser(
  RegisterAgentRequestSchema,
  "AGENT_REQUEST_MALFORMED",
  "RegisterAgent request",
);
export const parseUpdate = compileParser(
  UpdateAgentCardRequestSchema,
  "AGENT_REQUEST_MALFORMED",
  "UpdateAgentCard request",
);
export const parseRotate = compileParser(
  RotateAgentKeyRequestSchema,
  "AGENT_REQUEST_MALFORMED",
  "RotateAgentKey request",
);
export const parseRevoke = compileParser(
  RevokeAgentRequestSchema,
  "AGENT_REQUEST_MALFORMED",
  "RevokeAgent request",
);
export const parseProve = compileParser(
  ProveAgentControlRequestSchema,
  "AGENT_REQUEST_MALFORMED",
  "ProveAgentControl request",
);
export const parseAddress = compileParser(AddressHex, "AGENT_REQUEST_MALFORMED", "address");

/** Agent ids are lowercase addresses; mixed case (EIP-55) is accepted and lowered. */
export function normalizeId(id: unknown): Address {
  if (typeof id !== "string" || !ADDRESS_ANY_CASE.test(id)) {
    fail("AGENT_NOT_FOUND", "no agent is registered under this id", {
      id: typeof id === "string" ? id.slice(0, 80) : typeof id,
    });
  }
  return id.toLowerCase() as Address;
}

/** An operator's reason: a string of at most 1000 characters. */
export function parseReason(reason: unknown): string {
  if (typeof reason !== "string" || reason.length > 1000 || reason.includes("\u0000")) {
    fail("AGENT_REQUEST_MALFORMED", "reason must be a string of at most 1000 characters");
  }
  return reason;
}

/** A verified signature: who made it. */
export type Signer = { address: Address; publicKey: Hex };

/** Chain id, uint64 ranges and expiry; returns the EIP-712 digest. */
export function checkEnvelope<K extends MessageKind>(
  ctx: RegistryContext,
  kind: K,
  chainId: string,
  message: TypedMessage<K>,
  now: Date,
): Uint8Array {
  for (const field of EIP712_TYPES[kind]) {
    const value = (message as Record<string, unknown>)[field.name];
    if (field.type === "uint64" && BigInt(value as string) > MAX_UINT64) {
      fail("AGENT_REQUEST_MALFORMED", `${kind}.${field.name} is larger than a uint64`, {
        field: field.name,
      });
    }
  }
  if (BigInt(chainId) !== ctx.chainId) {
    fail("AGENT_WRONG_CHAIN", `${kind} was signed for chain ${chainId}`, {
      expected: ctx.chainId.toString(),
      got: chainId,
    });
  }
  const expiry = BigInt((message as { expiry: string }).expiry);
  const nowSeconds = BigInt(Math.floor(now.getTime() / 1000));
  if (expiry <= nowSeconds) {
    fail("AGENT_EXPIRED", `${kind} expired`, {
      expiry: expiry.toString(),
      now: nowSeconds.toString(),
    });
  }
  try {
    return typedDataDigest(kind, message, ctx.domain);
  } catch (cause) {
    fail("AGENT_REQUEST_MALFORMED", `${kind} cannot be encoded`, undefined, cause);
  }
}

/** @throws ChaosCoreError AGENT_CARD_HASH_MISMATCH unless `signed` is the card's hash. */
export function checkCardHash(card: AgentCard, signed: Hex): Hex {
  const cardHash = agentCardHash(card);
  if (cardHash !== signed) {
    fail("AGENT_CARD_HASH_MISMATCH", "the signed card hash is not the hash of the card", {
      expected: cardHash,
      got: signed,
    });
  }
  return cardHash;
}

/** Who signed `digest`; an unusable signature throws `code`. */
export function recoverSigner(
  digest: Uint8Array,
  signature: Hex,
  code: ErrorCode = "AGENT_BAD_SIGNATURE",
): Signer {
  try {
    const publicKey = recoverPublicKey(digest, signature);
    return { address: publicKeyToAddress(publicKey), publicKey: bytesToHex(publicKey) };
  } catch (cause) {
    if (!isChaosCoreError(cause)) throw cause;
    fail(code, `signature is unusable: ${cause.message}`, undefined, cause);
  }
}

/** @throws ChaosCoreError AGENT_BAD_SIGNATURE unless signed by the agent's current key. */
export function checkSigner(current: AgentRow, signer: Signer, kind: MessageKind): void {
  if (signer.address !== current.signer) {
    fail("AGENT_BAD_SIGNATURE", `${kind} is not signed by the agent's current key`, {
      agent: current.id,
      expected: current.signer,
      signer: signer.address,
    });
  }
}

/** @throws ChaosCoreError AGENT_NOT_ACTIVE unless the agent is active. */
export function checkActive(current: AgentRow): void {
  if (current.status !== "active") {
    fail("AGENT_NOT_ACTIVE", `the agent is ${current.status}`, {
      id: current.id,
      status: current.status,
    });
  }
}

/** @throws ChaosCoreError AGENT_NONCE_NOT_INCREASING unless `nonce` is above the last registry nonce. */
export function checkNonce(current: AgentRow, nonce: string): void {
  if (BigInt(nonce) <= BigInt(current.registry_nonce)) {
    fail("AGENT_NONCE_NOT_INCREASING", "the nonce must be larger than the last accepted one", {
      last: current.registry_nonce,
      got: nonce,
    });
  }
}

/** @throws ChaosCoreError AGENT_STATUS_TRANSITION_INVALID unless the agent's status is in `from`. */
export function checkTransition(
  current: AgentRow,
  from: readonly AgentStatus[],
  to: AgentStatus,
): void {
  if (!from.includes(current.status)) {
    fail("AGENT_STATUS_TRANSITION_INVALID", `the agent cannot go from ${current.status} to ${to}`, {
      id: current.id,
      from: current.status,
      to,
    });
  }
}
