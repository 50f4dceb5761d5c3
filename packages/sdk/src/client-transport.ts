/**
 * The client's HTTP transport: one request to the gateway, authenticated with
 * an operator API key or signed by the agent (EIP-712 `Request`), retried on
 * transient failures with one `Idempotency-Key` per call, and its answer
 * parsed — JSON, or the gateway's problem+json as a coded `ChaosCoreError`.
 * @module
 */
import {
  type Address,
  ChaosCoreError,
  ERROR_CODES,
  type ErrorCode,
  signRequest,
} from "@chaoscore/core";

/** Options of {@link ChaosCoreClient}. */
export type ClientOptions = {
  /** The gateway's base URL, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** An operator API key (`cck_…`). */
  apiKey?: string;
  /** An agent's secp256k1 key: requests are signed as that agent (the key is not sent). */
  agentKey?: Uint8Array;
  /** The chain id agents sign for; default: read from `GET /v1` on first need. */
  chainId?: bigint;
  /**
   * The deployment agents sign for (EIP-712 `verifyingContract`); default: read
   * from `GET /v1` on first need. Pin it where the gateway is not trusted to name it.
   */
  verifyingContract?: Address;
  /** Attempts after the first on 429, 503, 504 and connection failures; default 3. */
  retries?: number;
  /** Per-attempt timeout; default 30,000 ms. */
  timeoutMs?: number;
  /** First backoff; doubles per attempt (a 429's Retry-After wins). Default 200 ms. */
  backoffMs?: number;
  fetch?: typeof fetch;
};

/** The methods the gateway answers. */
export type RequestMethod = "GET" | "POST" | "PUT" | "DELETE";

/** What {@link sendRequest} needs of the client it sends for. */
export type Transport = {
  /** The gateway's base URL, without a trailing slash. */
  baseUrl: string;
  options: ClientOptions;
  fetch: typeof fetch;
  /** What agents sign for (asked only when a request is signed). */
  domain: () => Promise<{ chainId: bigint; verifyingContract: Address }>;
};

/** Query parameters; `undefined` ones are left out. */
export type Query = Record<string, string | number | bigint | undefined>;

const RETRYABLE = new Set([429, 502, 503, 504]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `?a=1&b=2` of the defined parameters, or `""` when there are none. */
export function queryString(q: Query | undefined): string {
  if (q === undefined) return "";
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s === "" ? "" : `?${s}`;
}

/**
 * Sends one request (with retries) and returns the parsed JSON answer.
 * @throws ChaosCoreError the gateway's code; SDK_GATEWAY_UNREACHABLE, SDK_RESPONSE_INVALID.
 */
export async function sendRequest<T>(
  transport: Transport,
  method: RequestMethod,
  path: string,
  body?: unknown,
  options: { idempotencyKey?: string; sign?: boolean } = {},
): Promise<T> {
  const opts = transport.options;
  const bytes = body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body));
  const write = method !== "GET";
  const idempotencyKey = write
    ? (options.idempotencyKey ?? globalThis.crypto.randomUUID())
    : undefined;
  const retries = opts.retries ?? 3;
  let delay = opts.backoffMs ?? 200;
  const url = `${transport.baseUrl}${path}`;
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = { accept: "application/json" };
    if (bytes !== undefined) headers["content-type"] = "application/json";
    if (idempotencyKey !== undefined) headers["idempotency-key"] = idempotencyKey;
    if (opts.apiKey !== undefined) headers.authorization = `Bearer ${opts.apiKey}`;
    else if (opts.agentKey !== undefined && (write || options.sign === true)) {
      // Writes are signed (and reads that ask for what is not public, such as payloads), with a fresh nonce per attempt (each is accepted once),
      // for this gateway's origin and the deployment.
      const domain = await transport.domain();
      Object.assign(
        headers,
        signRequest({
          privateKey: opts.agentKey,
          chainId: domain.chainId,
          verifyingContract: domain.verifyingContract,
          origin: new URL(transport.baseUrl).origin,
          method,
          path,
          ...(bytes === undefined ? {} : { body: bytes }),
        }),
      );
    }
    let response: Response;
    try {
      response = await transport.fetch(url, {
        method,
        headers,
        ...(bytes === undefined ? {} : { body: bytes }),
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
    } catch (cause) {
      if (attempt < retries) {
        await sleep(delay);
        delay *= 2;
        continue;
      }
      throw new ChaosCoreError(
        "SDK_GATEWAY_UNREACHABLE",
        `${method} ${url} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause, details: { url } },
      );
    }
    if (response.status === 409 && attempt < retries) {
      // The first request with this idempotency key is still running: ask again shortly.
      const text = await response.text();
      if (!text.includes('"GATEWAY_IDEMPOTENCY_KEY_IN_USE"'))
        return parseAnswer<T>(response, url, text);
      await sleep(delay);
      delay *= 2;
      continue;
    }
    if (RETRYABLE.has(response.status) && attempt < retries) {
      const after = Number(response.headers.get("retry-after"));
      await response.body?.cancel();
      await sleep(Number.isFinite(after) && after > 0 ? after * 1000 : delay);
      delay *= 2;
      continue;
    }
    return parseAnswer<T>(response, url);
  }
}

/** The JSON of a success; a problem+json becomes a `ChaosCoreError` with the gateway's code. */
async function parseAnswer<T>(response: Response, url: string, read?: string): Promise<T> {
  if (response.status === 204) return undefined as T;
  const text = read ?? (await response.text());
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch (cause) {
    throw new ChaosCoreError(
      "SDK_RESPONSE_INVALID",
      `${url} answered ${response.status} with a body that is not JSON`,
      { cause, details: { status: response.status } },
    );
  }
  if (response.ok) return json as T;
  const problem = json as {
    code?: unknown;
    detail?: unknown;
    details?: unknown;
    requestId?: unknown;
  };
  if (typeof problem?.code !== "string" || !(problem.code in ERROR_CODES)) {
    throw new ChaosCoreError(
      "SDK_RESPONSE_INVALID",
      `${url} answered ${response.status} without a ChaosCore problem`,
      { details: { status: response.status } },
    );
  }
  throw new ChaosCoreError(problem.code as ErrorCode, String(problem.detail ?? problem.code), {
    details: {
      ...(typeof problem.details === "object" && problem.details !== null ? problem.details : {}),
      status: response.status,
      requestId: problem.requestId,
    },
  });
}
