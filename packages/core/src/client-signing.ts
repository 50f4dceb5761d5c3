import { type AgentCard, agentCardHash } from "./agent-card.js";
import { canonicalJsonBytes } from "./canonical-json.js";
import {
  DEVELOPMENT_DEPLOYMENT,
  privateKeyToAddress,
  type SigningDomain,
  signTypedMessage,
  ZERO_HASH,
} from "./eip712.js";
import { sha256Hex } from "./hash.js";
import type { Address, Hex } from "./hex.js";
import { bytesToHex } from "./hex.js";
import { type ActionEntry, ENTRY_FORMAT, type OutcomeEntry } from "./schemas.js";

/** The deployment part of a signer's input (docs/spec/receipt.md §2.1). */
export type DeploymentInput = {
  /**
   * The deployment signed for: its IdentityRegistry address, or the
   * `deploymentAddress` of a chainless deployment (a gateway tells it in
   * `GET /v1`). Default {@link DEVELOPMENT_DEPLOYMENT}.
   */
  verifyingContract?: Address;
};

function domainOf(input: { chainId: bigint | number } & DeploymentInput): SigningDomain {
  return {
    chainId: input.chainId,
    verifyingContract: input.verifyingContract ?? DEVELOPMENT_DEPLOYMENT,
  };
}

/** Defaults: now, and an expiry one hour later. */
function times(timestamp?: bigint | number, ttlSeconds = 3600) {
  const ts = BigInt(timestamp ?? Math.floor(Date.now() / 1000));
  return { timestamp: ts.toString(), expiry: (ts + BigInt(ttlSeconds)).toString() };
}

/** Inputs of {@link signAction}. */
export type SignActionInput = DeploymentInput & {
  privateKey: Uint8Array;
  chainId: bigint | number;
  actionType: string;
  nonce: bigint | number;
  /** The action's content; only its hash is signed and logged. */
  payload?: unknown;
  /** The payload hash, when the payload itself is not at hand. */
  payloadHash?: Hex;
  studio?: string;
  task?: string;
  parents?: Hex[];
  attestationHash?: Hex;
  /** Unix seconds; default now. */
  timestamp?: bigint | number;
  /** Seconds until the signature expires; default 3600. */
  ttlSeconds?: number;
  /** The agent id when the key is a rotated key (default: the key's address). */
  agent?: Hex;
};

/**
 * Builds and signs an action entry on the agent's side (the key never leaves it).
 * @example
 * const { entry } = signAction({ privateKey, chainId: 31337n, actionType: "tool.call", nonce: 1, payload: { q: "hi" } })
 */
export function signAction(input: SignActionInput): { entry: ActionEntry; payload?: unknown } {
  const payloadHash =
    input.payloadHash ??
    (input.payload === undefined ? ZERO_HASH : sha256Hex(canonicalJsonBytes(input.payload)));
  const message = {
    agent: input.agent ?? privateKeyToAddress(input.privateKey),
    studio: input.studio ?? "",
    task: input.task ?? "",
    actionType: input.actionType,
    payloadHash,
    parents: input.parents ?? [],
    attestationHash: input.attestationHash ?? ZERO_HASH,
    ...times(input.timestamp, input.ttlSeconds),
    nonce: BigInt(input.nonce).toString(),
  };
  const domain = domainOf(input);
  const entry: ActionEntry = {
    format: ENTRY_FORMAT,
    kind: "action",
    chainId: BigInt(input.chainId).toString(),
    verifyingContract: domain.verifyingContract,
    message,
    signature: signTypedMessage("Action", message, domain, input.privateKey),
  };
  return input.payload === undefined ? { entry } : { entry, payload: input.payload };
}

/** Inputs of {@link signOutcome}. */
export type SignOutcomeInput = DeploymentInput & {
  privateKey: Uint8Array;
  chainId: bigint | number;
  action: Hex;
  status: "success" | "failure" | "partial";
  nonce: bigint | number;
  /** The result's content; only its hash is signed. */
  result?: unknown;
  metrics?: Record<string, unknown>;
  timestamp?: bigint | number;
  ttlSeconds?: number;
  agent?: Hex;
};

/** Builds and signs an outcome entry (by the evaluator). */
export function signOutcome(input: SignOutcomeInput): {
  entry: OutcomeEntry;
  metrics: Record<string, unknown>;
} {
  const metrics = input.metrics ?? {};
  const message = {
    agent: input.agent ?? privateKeyToAddress(input.privateKey),
    action: input.action,
    status: input.status,
    resultHash:
      input.result === undefined ? ZERO_HASH : sha256Hex(canonicalJsonBytes(input.result)),
    metricsHash: sha256Hex(canonicalJsonBytes(metrics)),
    ...times(input.timestamp, input.ttlSeconds),
    nonce: BigInt(input.nonce).toString(),
  };
  const domain = domainOf(input);
  const entry: OutcomeEntry = {
    format: ENTRY_FORMAT,
    kind: "outcome",
    chainId: BigInt(input.chainId).toString(),
    verifyingContract: domain.verifyingContract,
    message,
    signature: signTypedMessage("Outcome", message, domain, input.privateKey),
  };
  return { entry, metrics };
}

/**
 * Builds and signs a registration request: the agent signs the hash of its
 * card, which proves it controls the key its id derives from.
 */
export function signRegistration(
  input: DeploymentInput & {
    privateKey: Uint8Array;
    chainId: bigint | number;
    card: AgentCard;
    nonce?: bigint | number;
    ttlSeconds?: number;
  },
) {
  const message = {
    agent: privateKeyToAddress(input.privateKey),
    cardHash: agentCardHash(input.card),
    nonce: BigInt(input.nonce ?? 0).toString(),
    expiry: times(undefined, input.ttlSeconds).expiry,
  };
  return {
    chainId: BigInt(input.chainId).toString(),
    card: input.card,
    message,
    signature: signTypedMessage("RegisterAgent", message, domainOf(input), input.privateKey),
  };
}

/** The headers of an agent-signed HTTP request (docs/api.md). */
export type SignedRequestHeaders = {
  "chaoscore-agent": Hex;
  "chaoscore-origin": string;
  "chaoscore-nonce": Hex;
  "chaoscore-expiry": string;
  "chaoscore-signature": Hex;
};

/**
 * Signs an HTTP request as the agent: EIP-712 `Request` over the gateway's
 * origin, the method, the request target (path and query), the SHA-256 of the
 * body bytes, a random nonce and an expiry, for one chain and deployment. The
 * gateway accepts each nonce once, and only requests signed for its origin.
 * @example
 * const headers = signRequest({ privateKey, chainId: 31337n, origin: "https://gw.example", method: "POST", path: "/v1/actions", body })
 */
export function signRequest(
  input: DeploymentInput & {
    privateKey: Uint8Array;
    chainId: bigint | number;
    /** The gateway's origin (`scheme://host[:port]`, as `new URL(base).origin` gives it). */
    origin: string;
    method: string;
    path: string;
    /** The exact body bytes sent (a string is UTF-8 encoded); none for a bodyless request. */
    body?: Uint8Array | string;
    /** 32 bytes; default random. */
    nonce?: Hex;
    /** Unix seconds; default now + 60. */
    expiry?: bigint | number;
    agent?: Hex;
  },
): SignedRequestHeaders {
  const body =
    input.body === undefined
      ? new Uint8Array(0)
      : typeof input.body === "string"
        ? new TextEncoder().encode(input.body)
        : input.body;
  const nonce = input.nonce ?? bytesToHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
  const expiry = BigInt(input.expiry ?? Math.floor(Date.now() / 1000) + 60).toString();
  const message = {
    agent: input.agent ?? privateKeyToAddress(input.privateKey),
    origin: input.origin,
    method: input.method.toUpperCase(),
    path: input.path,
    bodyHash: sha256Hex(body),
    nonce,
    expiry,
  };
  return {
    "chaoscore-agent": message.agent,
    "chaoscore-origin": input.origin,
    "chaoscore-nonce": nonce,
    "chaoscore-expiry": expiry,
    "chaoscore-signature": signTypedMessage("Request", message, domainOf(input), input.privateKey),
  };
}
