/**
 * A small HTTP client for the suite: raw requests (any method, headers and
 * body bytes) and the signing helpers of test agents.
 * @module
 */
import { randomBytes } from "node:crypto";
import {
  type AgentCard,
  DEVELOPMENT_DEPLOYMENT,
  type Hex,
  privateKeyToAddress,
  signAction,
  signRegistration,
  signRequest,
} from "@chaoscore/core";

export const CHAIN_ID = 31337n;

/**
 * What the suite's signatures are bound to: the gateway's deployment
 * (`verifyingContract` from `GET /v1`) and origin. {@link learnGateway} sets it.
 */
export const target = {
  verifyingContract: DEVELOPMENT_DEPLOYMENT as Hex,
  origin: "http://localhost",
};

/**
 * The `ChaosCore-*` headers of a request signed by `agent` for the gateway
 * under test ({@link target}).
 */
export function agentRequestHeaders(
  agent: TestAgent,
  request: { method: string; path: string; body?: string | Uint8Array; expiry?: number },
): Record<string, string> {
  return signRequest({
    privateKey: agent.privateKey,
    chainId: CHAIN_ID,
    verifyingContract: target.verifyingContract,
    origin: target.origin,
    ...request,
  }) as unknown as Record<string, string>;
}

/** Reads the deployment of the gateway at `base` into {@link target}. */
export async function learnGateway(base: string): Promise<void> {
  const answer = await send(`${base}/v1`, {});
  const info = answer.ok ? (answer.body as { verifyingContract?: unknown }) : {};
  if (typeof info.verifyingContract !== "string") {
    throw new Error(`GET ${base}/v1 names no verifyingContract`);
  }
  target.verifyingContract = info.verifyingContract as Hex;
  target.origin = new URL(base).origin;
}

/** What came back: a status and the parsed body, or the transport error. */
export type Answer =
  | { ok: true; status: number; body: unknown; text: string; headers: Headers }
  | { ok: false; error: string };

/** Sends one request; never throws (a transport failure is an answer with `ok: false`). */
export async function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array },
  timeoutMs = 30_000,
): Promise<Answer> {
  try {
    const res = await fetch(url, {
      method: init.method ?? "GET",
      ...(init.headers === undefined ? {} : { headers: init.headers }),
      ...(init.body === undefined ? {} : { body: init.body }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { ok: true, status: res.status, body, text, headers: res.headers };
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    return { ok: false, error: e.cause?.code ?? e.name ?? String(error) };
  }
}

/** The problem+json code of an answer, if any. */
export function codeOf(answer: Answer): string | undefined {
  if (!answer.ok || typeof answer.body !== "object" || answer.body === null) return undefined;
  const code = (answer.body as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** A test agent: its key, id and next action nonce. */
export type TestAgent = { privateKey: Uint8Array; address: Hex; name: string };

/** A fresh random agent key. */
export function newAgent(name: string): TestAgent {
  const privateKey = new Uint8Array(randomBytes(32));
  return { privateKey, address: privateKeyToAddress(privateKey), name };
}

/** The agent card of a test agent. */
export function agentCard(name: string): AgentCard {
  return {
    format: "chaoscore.agent-card/v1",
    name,
    description: `${name}, a reliability-suite agent`,
    capabilities: ["reliability"],
    framework: "reliability",
    version: "1.0.0",
    endpoints: [],
    codeMeasurement: null,
    owner: null,
  };
}

/** Registers the agent through the gateway with an admin key (learning the gateway's deployment first). */
export async function registerAgent(base: string, adminKey: string, agent: TestAgent) {
  await learnGateway(base);
  const body = signRegistration({
    privateKey: agent.privateKey,
    chainId: CHAIN_ID,
    verifyingContract: target.verifyingContract,
    card: agentCard(agent.name),
  });
  const answer = await send(`${base}/v1/agents`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!answer.ok || answer.status !== 201) {
    throw new Error(
      `registering ${agent.address}: ${answer.ok ? `${answer.status} ${answer.text}` : answer.error}`,
    );
  }
}

/** The JSON body of `POST /v1/actions` for one signed action of the agent. */
export function actionBody(agent: TestAgent, nonce: bigint | number, payload: unknown): string {
  const signed = signAction({
    privateKey: agent.privateKey,
    chainId: CHAIN_ID,
    verifyingContract: target.verifyingContract,
    actionType: "reliability.write",
    nonce,
    payload,
  });
  return JSON.stringify(signed);
}

/** Sleeps `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
