/**
 * Agent cards that others read: the ChaosCore card (`chaoscore.agent-card/v1`)
 * as an A2A `AgentCard` (signed by the agent's key, JWS ES256K over the RFC
 * 8785 canonical card) and as an ERC-8004 registration file, and back.
 * Specified in docs/spec/agent-card.md §1.3–1.4.
 * @module
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { AGENT_CARD_FORMAT, type AgentCard, agentCardHash, parseAgentCard } from "./agent-card.js";
import { canonicalJsonBytes } from "./canonical-json.js";
import { privateKeyToAddress, publicKeyToAddress } from "./eip712.js";
import { ChaosCoreError } from "./errors.js";
import { sha256, utf8 } from "./hash.js";
import { type Address, base64ToBytes, bytesToBase64, type Hex } from "./hex.js";

/** The A2A protocol version of the cards we write. */
export const A2A_PROTOCOL_VERSION = "0.3.0";
/** The A2A extension that ties an A2A card to a ChaosCore identity. */
export const A2A_IDENTITY_EXTENSION = "https://chaoscore.dev/a2a/identity/v1";
/** The ERC-8004 registration file type. */
export const ERC8004_REGISTRATION_TYPE = "https://eips.ethereum.org/EIPS/eip-8004#registration-v1";

/** Where the agent is registered: its ChaosCore id and, once anchored, its IdentityRegistry token. */
export type AgentIdentityRef = {
  agent: Address;
  chainId: string;
  /** The IdentityRegistry contract, when the card is anchored on chain. */
  identityRegistry?: Address | null;
  /** The agent's ERC-721 token id in that registry (decimal), once known. */
  tokenId?: string | null;
  /** Where the agent's signed registration history can be read (the gateway's agent URL). */
  historyUrl?: string | null;
};

/** An A2A skill. */
export type A2ASkill = { id: string; name: string; description: string; tags: string[] };

/** An A2A `AgentCard` (protocol 0.3), the fields ChaosCore reads and writes. */
export type A2AAgentCard = {
  protocolVersion: string;
  name: string;
  description: string;
  url: string;
  preferredTransport?: string;
  version: string;
  capabilities: {
    streaming?: boolean;
    pushNotifications?: boolean;
    stateTransitionHistory?: boolean;
    extensions?: { uri: string; description?: string; required?: boolean; params?: unknown }[];
  };
  defaultInputModes: string[];
  defaultOutputModes: string[];
  skills: A2ASkill[];
  provider?: { organization: string; url: string };
  documentationUrl?: string;
  iconUrl?: string;
  signatures?: { protected: string; signature: string; header?: Record<string, unknown> }[];
};

/** An ERC-8004 registration file (registration-v1), as ChaosCore writes it. */
export type Erc8004Registration = {
  type: typeof ERC8004_REGISTRATION_TYPE;
  name: string;
  description: string;
  image: string;
  services: { name: string; endpoint: string }[];
  active: boolean;
  registrations: { agentId: string; agentRegistry: string }[];
  supportedTrust: string[];
  /** ChaosCore's own fields (ERC-8004 allows extra fields): the card the file is a view of. */
  chaoscore?: { agent: Address; chainId: string; cardHash: Hex; card: AgentCard };
};

function invalid(message: string, details: Record<string, unknown> = {}): never {
  throw new ChaosCoreError("AGENT_CARD_IMPORT_INVALID", message, { details });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], where: string) {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      invalid(`${where} has an unknown field ${JSON.stringify(key)}`, { field: key });
  }
}

function str(value: unknown, where: string, max = 2048): string {
  if (typeof value !== "string" || value.length > max)
    invalid(`${where} must be a string of at most ${max} characters`);
  return value;
}

// base64url without padding (RFC 7515 §2), in plain code: core runs in browsers too.
const b64url = (bytes: Uint8Array) =>
  bytesToBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromB64url = (text: string, where: string): Uint8Array => {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) invalid(`${where} is not base64url`);
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  try {
    return base64ToBytes(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  } catch {
    return invalid(`${where} is not canonical base64url`);
  }
};

// ---- A2A -------------------------------------------------------------------------------------

/**
 * The A2A card of an agent: name, description and version as in the card;
 * each capability an A2A skill; `url` the card's endpoint named `A2A` (else
 * `fallbackUrl`); the ChaosCore identity (agent id, chain, IdentityRegistry
 * token, card hash) in the {@link A2A_IDENTITY_EXTENSION} extension. With
 * `privateKey` (the agent's current key) the card is signed as A2A asks:
 * JWS ES256K over the RFC 8785 canonical card without `signatures`, the
 * public key in the protected header's `jwk`, `kid` the agent id.
 * @throws ChaosCoreError AGENT_CARD_INVALID (the card), INVALID_INPUT (no URL).
 */
export function toA2AAgentCard(
  card: AgentCard,
  identity: AgentIdentityRef,
  options: { fallbackUrl?: string; privateKey?: Uint8Array } = {},
): A2AAgentCard {
  parseAgentCard(card);
  const url = card.endpoints.find((e) => e.name === "A2A")?.endpoint ?? options.fallbackUrl;
  if (url === undefined) {
    throw new ChaosCoreError("INVALID_INPUT", "the card has no A2A endpoint and no fallback URL");
  }
  const a2a: A2AAgentCard = {
    protocolVersion: A2A_PROTOCOL_VERSION,
    name: card.name,
    description: card.description,
    url,
    preferredTransport: "JSONRPC",
    version: card.version === "" ? "0.0.0" : card.version,
    capabilities: {
      streaming: false,
      pushNotifications: false,
      stateTransitionHistory: false,
      extensions: [
        {
          uri: A2A_IDENTITY_EXTENSION,
          description:
            "This agent's ChaosCore identity: every action it signs is in a verifiable log.",
          required: false,
          params: {
            agent: identity.agent,
            chainId: identity.chainId,
            identityRegistry: identity.identityRegistry ?? null,
            tokenId: identity.tokenId ?? null,
            cardHash: agentCardHash(card),
            framework: card.framework,
            codeMeasurement: card.codeMeasurement,
            owner: card.owner,
            historyUrl: identity.historyUrl ?? null,
          },
        },
      ],
    },
    defaultInputModes: ["application/json", "text/plain"],
    defaultOutputModes: ["application/json", "text/plain"],
    skills: card.capabilities.map((c) => ({ id: c, name: c, description: c, tags: [c] })),
  };
  if (options.privateKey === undefined) return a2a;
  if (privateKeyToAddress(options.privateKey) !== identity.agent) {
    throw new ChaosCoreError("INVALID_INPUT", "the signing key is not the agent's key");
  }
  const pub = secp256k1.getPublicKey(options.privateKey, false);
  const header = {
    alg: "ES256K",
    kid: identity.agent,
    jwk: { kty: "EC", crv: "secp256k1", x: b64url(pub.slice(1, 33)), y: b64url(pub.slice(33, 65)) },
  };
  const protectedB64 = b64url(utf8(JSON.stringify(header)));
  const signingInput = `${protectedB64}.${b64url(canonicalJsonBytes(a2a))}`;
  const signature = secp256k1.sign(sha256(utf8(signingInput)), options.privateKey, {
    prehash: false,
  });
  return { ...a2a, signatures: [{ protected: protectedB64, signature: b64url(signature) }] };
}

const A2A_KEYS = [
  "protocolVersion",
  "name",
  "description",
  "url",
  "preferredTransport",
  "additionalInterfaces",
  "version",
  "capabilities",
  "defaultInputModes",
  "defaultOutputModes",
  "skills",
  "provider",
  "documentationUrl",
  "iconUrl",
  "securitySchemes",
  "security",
  "supportsAuthenticatedExtendedCard",
  "signatures",
] as const;

/** What an imported card says: the ChaosCore card, and who signed it (when it was signed). */
export type ImportedCard = {
  card: AgentCard;
  signedBy: Address | null;
  claimedAgent: Address | null;
};

/**
 * Reads an A2A `AgentCard` as a ChaosCore card: skills become capabilities
 * (their ids, which must match the capability pattern), `url` the endpoint
 * named `A2A`, the identity extension's framework, code measurement and
 * owner are carried. When the card is signed, each signature must verify
 * (JWS ES256K, public key in the protected header), and all must come from
 * one key; `signedBy` is its address. Unknown top-level fields are refused.
 * @throws ChaosCoreError AGENT_CARD_IMPORT_INVALID, AGENT_CARD_SIGNATURE_INVALID, AGENT_CARD_INVALID.
 */
export function fromA2AAgentCard(value: unknown): ImportedCard {
  if (!isObject(value)) invalid("an A2A agent card is a JSON object");
  onlyKeys(value, A2A_KEYS, "the A2A card");
  const name = str(value.name, "name", 128);
  const description = str(value.description ?? "", "description", 2000);
  const url = str(value.url, "url");
  const version = str(value.version ?? "", "version", 32);
  if (!Array.isArray(value.skills)) invalid("skills must be an array");
  const capabilities = value.skills.map((skill, i) => {
    if (!isObject(skill)) invalid(`skills[${i}] must be an object`);
    return str(skill.id, `skills[${i}].id`, 64);
  });
  const capabilitiesObj = isObject(value.capabilities) ? value.capabilities : {};
  const extensions = Array.isArray(capabilitiesObj.extensions) ? capabilitiesObj.extensions : [];
  const identity = extensions.find((e) => isObject(e) && e.uri === A2A_IDENTITY_EXTENSION) as
    | { params?: Record<string, unknown> }
    | undefined;
  const params = isObject(identity?.params) ? identity.params : {};
  const card = parseAgentCard({
    format: AGENT_CARD_FORMAT,
    name,
    description,
    capabilities: [...new Set(capabilities)],
    framework: typeof params.framework === "string" ? params.framework : "",
    version,
    endpoints: [{ name: "A2A", endpoint: url }],
    codeMeasurement: typeof params.codeMeasurement === "string" ? params.codeMeasurement : null,
    owner: typeof params.owner === "string" ? params.owner : null,
  });
  const claimedAgent =
    typeof params.agent === "string" && /^0x[0-9a-f]{40}$/.test(params.agent)
      ? (params.agent as Address)
      : null;
  return { card, signedBy: verifyA2ASignatures(value), claimedAgent };
}

function verifyA2ASignatures(value: Record<string, unknown>): Address | null {
  const signatures = value.signatures;
  if (signatures === undefined) return null;
  if (!Array.isArray(signatures) || signatures.length === 0 || signatures.length > 8) {
    invalid("signatures must be a non-empty array of at most 8 JWS signatures");
  }
  const { signatures: _, ...unsigned } = value;
  let payload: Uint8Array;
  try {
    payload = canonicalJsonBytes(unsigned);
  } catch {
    invalid("the card cannot be canonicalized (RFC 8785)");
  }
  let signer: Address | null = null;
  for (const [i, sig] of signatures.entries()) {
    if (!isObject(sig)) invalid(`signatures[${i}] must be an object`);
    const protectedB64 = str(sig.protected, `signatures[${i}].protected`, 4096);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(
        new TextDecoder("utf-8", { fatal: true }).decode(fromB64url(protectedB64, "protected")),
      );
    } catch (cause) {
      if (cause instanceof ChaosCoreError) throw cause;
      return invalid(`signatures[${i}].protected is not a JSON header`);
    }
    const jwk = isObject(header.jwk) ? header.jwk : {};
    if (header.alg !== "ES256K" || jwk.kty !== "EC" || jwk.crv !== "secp256k1") {
      throw new ChaosCoreError(
        "AGENT_CARD_SIGNATURE_INVALID",
        `signatures[${i}] is not ES256K with a secp256k1 jwk`,
      );
    }
    const x = fromB64url(str(jwk.x, "jwk.x", 64), "jwk.x");
    const y = fromB64url(str(jwk.y, "jwk.y", 64), "jwk.y");
    const sigBytes = fromB64url(str(sig.signature, `signatures[${i}].signature`, 128), "signature");
    if (x.length !== 32 || y.length !== 32 || sigBytes.length !== 64) {
      throw new ChaosCoreError("AGENT_CARD_SIGNATURE_INVALID", `signatures[${i}] is malformed`);
    }
    const publicKey = new Uint8Array([4, ...x, ...y]);
    const signingInput = `${protectedB64}.${b64url(payload)}`;
    let ok = false;
    try {
      ok = secp256k1.verify(sigBytes, sha256(utf8(signingInput)), publicKey, { prehash: false });
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new ChaosCoreError(
        "AGENT_CARD_SIGNATURE_INVALID",
        `signatures[${i}] does not verify over the card`,
      );
    }
    const address = publicKeyToAddress(publicKey);
    if (signer !== null && signer !== address) {
      throw new ChaosCoreError("AGENT_CARD_SIGNATURE_INVALID", "the card is signed by two keys");
    }
    signer = address;
  }
  return signer;
}

// ---- ERC-8004 --------------------------------------------------------------------------------

/**
 * The ERC-8004 registration file of an agent (docs/spec/agent-card.md §1.2):
 * `services` are the card's endpoints, `registrations` the IdentityRegistry
 * token when known, and the card itself under `chaoscore` (ERC-8004 allows
 * extra fields), so that the file can be read back without loss.
 */
export function toErc8004Registration(
  card: AgentCard,
  identity: AgentIdentityRef,
  options: { active?: boolean; image?: string } = {},
): Erc8004Registration {
  parseAgentCard(card);
  return {
    type: ERC8004_REGISTRATION_TYPE,
    name: card.name,
    description: card.description,
    image: options.image ?? "",
    services: card.endpoints.map((e) => ({ name: e.name, endpoint: e.endpoint })),
    active: options.active ?? true,
    registrations:
      identity.identityRegistry && identity.tokenId
        ? [
            {
              agentId: identity.tokenId,
              agentRegistry: `eip155:${identity.chainId}:${identity.identityRegistry}`,
            },
          ]
        : [],
    supportedTrust: ["chaoscore-proof-of-agency"],
    chaoscore: {
      agent: identity.agent,
      chainId: identity.chainId,
      cardHash: agentCardHash(card),
      card,
    },
  };
}

const ERC8004_KEYS = [
  "type",
  "name",
  "description",
  "image",
  "services",
  "endpoints",
  "active",
  "registrations",
  "supportedTrust",
  "chaoscore",
] as const;

/**
 * Reads an ERC-8004 registration file as a ChaosCore card. A file that
 * carries its ChaosCore card (`chaoscore.card`) gives that card back, and its
 * `cardHash` must match; otherwise the card is derived: name, description,
 * http(s) services as endpoints (other services — ENS, DID, wallets — are
 * skipped and listed in `skipped`), no capabilities.
 * @throws ChaosCoreError AGENT_CARD_IMPORT_INVALID, AGENT_CARD_HASH_MISMATCH, AGENT_CARD_INVALID.
 */
export function fromErc8004Registration(value: unknown): ImportedCard & { skipped: string[] } {
  if (!isObject(value)) invalid("a registration file is a JSON object");
  onlyKeys(value, ERC8004_KEYS, "the registration file");
  if (value.type !== ERC8004_REGISTRATION_TYPE) {
    invalid(`type must be ${ERC8004_REGISTRATION_TYPE}`, { type: value.type });
  }
  if (isObject(value.chaoscore)) {
    const card = parseAgentCard(value.chaoscore.card);
    if (value.chaoscore.cardHash !== agentCardHash(card)) {
      throw new ChaosCoreError(
        "AGENT_CARD_HASH_MISMATCH",
        "chaoscore.cardHash is not the hash of chaoscore.card",
      );
    }
    if (card.name !== value.name || card.description !== (value.description ?? "")) {
      invalid("the file's name or description differs from its ChaosCore card");
    }
    const agent = value.chaoscore.agent;
    return {
      card,
      signedBy: null,
      claimedAgent:
        typeof agent === "string" && /^0x[0-9a-f]{40}$/.test(agent) ? (agent as Address) : null,
      skipped: [],
    };
  }
  const services = value.services ?? value.endpoints ?? [];
  if (!Array.isArray(services)) invalid("services must be an array");
  const endpoints: { name: string; endpoint: string }[] = [];
  const skipped: string[] = [];
  for (const [i, s] of services.entries()) {
    if (!isObject(s)) invalid(`services[${i}] must be an object`);
    const name = str(s.name, `services[${i}].name`, 64);
    const endpoint = str(s.endpoint, `services[${i}].endpoint`);
    if (/^https?:\/\//.test(endpoint)) endpoints.push({ name, endpoint });
    else skipped.push(`${name}: ${endpoint}`);
  }
  const card = parseAgentCard({
    format: AGENT_CARD_FORMAT,
    name: str(value.name, "name", 128),
    description: str(value.description ?? "", "description", 2000),
    capabilities: [],
    framework: "",
    version: "",
    endpoints: endpoints.slice(0, 16),
    codeMeasurement: null,
    owner: null,
  });
  return { card, signedBy: null, claimedAgent: null, skipped };
}
