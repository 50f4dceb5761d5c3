/**
 * The writing commands through a running gateway (`--gateway URL`, issue 12
 * part 4): an embedded data directory has one writer, so while `chaoscore
 * serve` holds it the CLI talks to that server through its HTTP API (the SDK
 * client) instead of opening a second Postgres over the same files. Agent
 * keys stay here: entries are signed in this process, only signatures travel.
 * @module
 */
import { attestationHash, type Hex, signAction, signRegistration } from "@chaoscore/core";
import type { ChaosCoreClient } from "@chaoscore/sdk";
import { unlockKey } from "../data-dir.js";
import { defined, out, printFields, printJson, UsageError } from "../output.js";

/** `--gateway URL [--api-key KEY]` of a writing command. */
export type GatewayOptions = { gateway?: string; apiKey?: string };

/** The SDK client of `--gateway` (the API key defaults to CHAOSCORE_API_KEY). */
export async function gatewayClient(
  opts: GatewayOptions & { gateway: string },
  agentKey?: Uint8Array,
): Promise<ChaosCoreClient> {
  let url: URL;
  try {
    url = new URL(opts.gateway);
  } catch {
    throw new UsageError(`--gateway must be a URL (got ${JSON.stringify(opts.gateway)})`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError("--gateway must be an http(s) URL");
  }
  const apiKey = opts.apiKey ?? process.env.CHAOSCORE_API_KEY;
  const { ChaosCoreClient } = await import("@chaoscore/sdk");
  return new ChaosCoreClient({
    baseUrl: opts.gateway.replace(/\/+$/, ""),
    ...(apiKey === undefined || apiKey === "" ? {} : { apiKey }),
    ...(agentKey === undefined ? {} : { agentKey }),
  });
}

/** `chaoscore apikey create --gateway URL --api-key ADMIN_KEY`: POST /v1/api-keys. */
export async function createApiKeyRemote(
  opts: GatewayOptions & { gateway: string; scope: string[]; label?: string; json?: boolean },
): Promise<void> {
  const client = await gatewayClient(opts);
  const created = await client.createApiKey(opts.scope, opts.label);
  if (opts.json === true) return printJson(created);
  printFields([
    ["id", created.id],
    ["scopes", created.scopes.join(", ")],
    ["gateway", opts.gateway],
  ]);
  out(`API_KEY ${created.key}`);
  out("(shown once: store it now)");
}

/**
 * `chaoscore action record --gateway URL`: signs with the agent's next nonce (asked of the
 * gateway) and POSTs /v1/actions. Returns what the local command prints.
 */
export async function recordActionRemote(
  dataDir: string,
  opts: GatewayOptions & {
    gateway: string;
    key: string;
    type: string;
    studio?: string;
    task?: string;
    parent?: string[];
  },
  payload: unknown,
  quote: Parameters<typeof attestationHash>[0] | undefined,
): Promise<{ id: string; leafIndex: number; agent: string; nonce: string }> {
  const key = await unlockKey(dataDir, opts.key);
  const client = await gatewayClient(opts, key.privateKey);
  const nonce = await client.nextNonce(key.address);
  const { entry } = signAction({
    ...(await client.domain()),
    privateKey: key.privateKey,
    actionType: opts.type,
    nonce,
    ...defined({
      payload,
      studio: opts.studio,
      task: opts.task,
      parents: opts.parent?.map((p) => p.toLowerCase() as Hex),
      attestationHash: quote === undefined ? undefined : attestationHash(quote),
    }),
  });
  const result = await client.recordAction({
    entry,
    ...(payload === undefined ? {} : { payload }),
    ...(quote === undefined ? {} : { attestation: quote }),
  });
  return {
    id: result.id,
    leafIndex: result.leafIndex,
    agent: key.address,
    nonce: nonce.toString(),
  };
}

/** `chaoscore agent register --gateway URL`: the agent's own signed registration, POST /v1/agents. */
export async function registerAgentRemote(
  opts: GatewayOptions & { gateway: string },
  privateKey: Uint8Array,
  card: Parameters<typeof signRegistration>[0]["card"],
) {
  const client = await gatewayClient(opts, privateKey);
  return await client.registerAgent(
    signRegistration({ ...(await client.domain()), privateKey, card }),
  );
}

/**
 * `chaoscore anchor --gateway URL [--api-key KEY]`: the running server anchors its current
 * checkpoint now and waits until it is final (`POST /v1/log/anchors`, operator key).
 */
export async function anchorRemote(opts: GatewayOptions & { gateway: string }) {
  const client = await gatewayClient(opts);
  return await client.anchorNow();
}
