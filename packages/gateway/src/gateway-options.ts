/**
 * What the gateway is built from: its options, the context route modules
 * receive, the typed Fastify instance, and the request fields the gateway's
 * hooks add (module augmentation).
 * @module
 */

import type { AnchoringService, StoredAnchorDirectory } from "@chaoscore/anchoring";
import type { Hex } from "@chaoscore/core";
import type { Engine, ReadEngine } from "@chaoscore/engine";
import type { ReputationComputer } from "@chaoscore/reputation";
import type { AttestationProvider, SecureExecutionEnvironment } from "@chaoscore/sandbox";
import type { Studios } from "@chaoscore/studios";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from "fastify";
import type { RegistrationPolicy } from "./admission.js";
import type { Access, ApiKeyStore, Principal } from "./auth.js";
import type { IdempotencyOptions } from "./idempotency.js";
import type { GatewayMetrics } from "./metrics.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Every route the gateway serves (but the docs UI's): what /openapi.json must list. */
    chaoscoreRoutes: readonly { method: string; url: string }[];
  }
  interface FastifyContextConfig {
    /** Who may call the route (default "public"). */
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal;
    rawBody: Buffer;
    /** The nonce an agent-signed request consumed (released if the request is rejected). */
    agentNonce?: string;
    /** The idempotency key this request reserved (its answer is stored, or it is released). */
    idempotency?: { principal: string; key: string; holder: string; renewal: NodeJS.Timeout };
  }
}

/** What the gateway serves. Optional parts answer GATEWAY_FEATURE_DISABLED when absent. */
export type GatewayOptions = {
  engine: Engine;
  /** The chain id agents sign for. */
  chainId: bigint;
  /**
   * The origins (`scheme://host[:port]`) this gateway answers at: agents sign
   * requests for one of them (EIP-712 `Request.origin`), and a request signed
   * for another gateway is refused. Default `["http://localhost"]`. A function
   * is asked on every request (for origins known only after `listen`).
   */
  origins?: readonly string[] | (() => readonly string[]);
  studios?: Studios;
  reputation?: ReputationComputer;
  /** Attested execution: the TEE provider (the mock TEE) and, optionally, the sandbox. */
  execution?: { provider: AttestationProvider; sandbox?: SecureExecutionEnvironment };
  /** The TEE roots the log trusts (shown to verifiers, used by the explorer). */
  trustedTeeRoots?: readonly Hex[];
  /** Anchors recorded in the database (by this process or a separate worker). */
  anchors?: StoredAnchorDirectory;
  /**
   * A read replica (`reads` of the node, `database.readUrl`): the read routes answer from it,
   * the primary when a client asks for a larger tree, when it misses, or when it is down
   * (read-routing.ts, docs/scaling.md "Read replicas"). Absent: every read on the primary.
   */
  reads?: ReadEngine;
  /** Anchors the current checkpoint on demand (`POST /v1/log/anchors`); default the engine's anchoring service. */
  anchoring?: Pick<AnchoringService, "anchorNow">;
  /**
   * Whether this gateway leads the ones sharing its database (anchors and cosigns; issue 18):
   * shown in `/readyz` (`checks.leader`) and as `chaoscore_leader`. Absent: not reported.
   */
  leader?: { readonly kind: string; isLeader(): boolean };
  /** Funds studio budgets on chain (the RewardDistributor); with `rewards` in {@link gatewayServices}. */
  treasury?: {
    fund(
      studio: string,
      amount: bigint,
    ): Promise<{ studioId: Hex; budget: bigint; txHashes: Hex[] }>;
  };
  /** The chain, for /readyz and the explorer's links. */
  chain?: { ping(): Promise<unknown>; rpcUrl?: string; explorerUrl?: string };
  /** A pino logger, `false` for none (default: pino at info). */
  logger?: FastifyBaseLogger | boolean;
  /** Largest request body in bytes; default 2 MiB (a 1 MiB payload and its entry). */
  bodyLimit?: number;
  /** Requests per minute per API key, agent or (unauthenticated) address; `false` disables. Default 60,000. */
  rateLimit?: number | false;
  /** Origins allowed by CORS; default none (closed). */
  corsOrigins?: readonly string[];
  /**
   * Requests per minute per client address (`request.ip`), whoever the caller
   * is, and per gateway in all; `false` (default) disables each (admission.ts).
   */
  ipRateLimit?: number | false;
  globalRateLimit?: number | false;
  /**
   * Fastify's `trustProxy`: which proxies' `X-Forwarded-For` names the client
   * address (per-IP limits, logs). Default false: the socket's address.
   */
  trustProxy?: boolean | string | number;
  /** Who may register an agent by itself (default open; admission.ts). */
  registration?: RegistrationPolicy;
  /** Unix seconds (tests). */
  now?: () => number;
  /** Idempotency-Key leases and retention (default: 30 s lease renewed while a request runs, answers kept a day). */
  idempotency?: IdempotencyOptions;
};

/** The context route modules receive. */
export type GatewayContext = GatewayOptions & {
  keys: ApiKeyStore;
  metrics: GatewayMetrics;
};

/** The Fastify instance with the TypeBox type provider. */
export type GatewayApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;
