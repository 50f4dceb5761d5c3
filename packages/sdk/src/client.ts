/**
 * The typed HTTP client of the ChaosCore gateway. Keys never leave the caller:
 * entries are signed locally (see {@link AgentRecorder} and `@chaoscore/core`'s
 * `signAction`), and requests are authenticated with an operator API key or
 * signed by the agent (EIP-712 `Request`, docs/api.md). Writes are retried on
 * transient failures with one `Idempotency-Key` per call.
 * @module
 */
import {
  type ActionEntry,
  type Address,
  ChaosCoreError,
  ERROR_CODES,
  type ErrorCode,
  type Hex,
  type OutcomeEntry,
  type Receipt,
  signRequest,
} from "@chaoscore/core";
import type { ActionSink, SinkResult } from "./recorder.js";

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

/** A page of a list route. */
export type Page<T> = { items: T[]; nextCursor: string | null };

/** The gateway's identity (`GET /v1`). */
export type GatewayInfo = {
  format: "chaoscore.gateway/v1";
  chainId: string;
  /** The deployment agents sign for (EIP-712 `verifyingContract`). */
  verifyingContract: Address;
  /** The origins the gateway answers at (signed requests name one). */
  origins: string[];
  log: { id: string; origin: string; verifierKey: string };
  trustedTeeRoots: Hex[];
  features: Record<string, boolean>;
  chain: { explorerUrl: string | null } | null;
};

/** A signed governance step or task transition as sent to a studio route. */
export type SignedStep = { entry: unknown; payload: unknown; attestation?: unknown };

type Query = Record<string, string | number | bigint | undefined>;

const RETRYABLE = new Set([429, 502, 503, 504]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function queryString(q: Query | undefined): string {
  if (q === undefined) return "";
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s === "" ? "" : `?${s}`;
}

const enc = encodeURIComponent;

/**
 * A client for the whole gateway API.
 * @example
 * ```ts
 * const client = new ChaosCoreClient({ baseUrl: "http://127.0.0.1:8787", agentKey });
 * const recorder = new AgentRecorder({ privateKey: agentKey, chainId: await client.chainId(),
 *   sink: client, nextNonce: () => client.nextNonce(address) });
 * const { id } = await recorder.record("tool.call", { tool: "search", input: "…" });
 * const receipt = await client.receipt(id);
 * ```
 */
export class ChaosCoreClient implements ActionSink {
  readonly baseUrl: string;
  readonly #options: ClientOptions;
  readonly #fetch: typeof fetch;
  #chainId: bigint | undefined;
  #verifyingContract: Address | undefined;
  #info: Promise<GatewayInfo> | undefined;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#options = options;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#chainId = options.chainId;
    this.#verifyingContract = options.verifyingContract;
  }

  /** A client with other credentials on the same gateway. */
  with(credentials: { apiKey?: string; agentKey?: Uint8Array }): ChaosCoreClient {
    const { apiKey: _a, agentKey: _k, ...rest } = this.#options;
    return new ChaosCoreClient({
      ...rest,
      ...credentials,
      ...(this.#chainId === undefined ? {} : { chainId: this.#chainId }),
      ...(this.#verifyingContract === undefined
        ? {}
        : { verifyingContract: this.#verifyingContract }),
    });
  }

  // ---- transport ------------------------------------------------------------------------------

  /**
   * Sends one request (with retries) and returns the parsed JSON answer.
   * @throws ChaosCoreError the gateway's code; SDK_GATEWAY_UNREACHABLE, SDK_RESPONSE_INVALID.
   */
  async request<T>(
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    body?: unknown,
    options: { idempotencyKey?: string; sign?: boolean } = {},
  ): Promise<T> {
    const opts = this.#options;
    const bytes = body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body));
    const write = method !== "GET";
    const idempotencyKey = write
      ? (options.idempotencyKey ?? globalThis.crypto.randomUUID())
      : undefined;
    const retries = opts.retries ?? 3;
    let delay = opts.backoffMs ?? 200;
    const url = `${this.baseUrl}${path}`;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { accept: "application/json" };
      if (bytes !== undefined) headers["content-type"] = "application/json";
      if (idempotencyKey !== undefined) headers["idempotency-key"] = idempotencyKey;
      if (opts.apiKey !== undefined) headers.authorization = `Bearer ${opts.apiKey}`;
      else if (opts.agentKey !== undefined && (write || options.sign === true)) {
        // Writes are signed (and reads that ask for what is not public, such as payloads), with a fresh nonce per attempt (each is accepted once),
        // for this gateway's origin and the deployment.
        const domain = await this.domain();
        Object.assign(
          headers,
          signRequest({
            privateKey: opts.agentKey,
            chainId: domain.chainId,
            verifyingContract: domain.verifyingContract,
            origin: new URL(this.baseUrl).origin,
            method,
            path,
            ...(bytes === undefined ? {} : { body: bytes }),
          }),
        );
      }
      let response: Response;
      try {
        response = await this.#fetch(url, {
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
          return this.#parse<T>(response, url, text);
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
      return this.#parse<T>(response, url);
    }
  }

  async #parse<T>(response: Response, url: string, read?: string): Promise<T> {
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

  // ---- the gateway ----------------------------------------------------------------------------

  /** The gateway's identity: chain id, log key, TEE roots, features (cached). */
  info(): Promise<GatewayInfo> {
    this.#info ??= this.request<GatewayInfo>("GET", "/v1").catch((error: unknown) => {
      this.#info = undefined;
      throw error;
    });
    return this.#info;
  }

  /** The chain id agents sign for (from `GET /v1`, unsigned). */
  async chainId(): Promise<bigint> {
    this.#chainId ??= BigInt((await this.info()).chainId);
    return this.#chainId;
  }

  /**
   * What agents sign for: the chain id and the deployment (`verifyingContract`),
   * from the options or `GET /v1`. Pass it to signers:
   * `signAction({ ...(await client.domain()), privateKey, … })`.
   */
  async domain(): Promise<{ chainId: bigint; verifyingContract: Address }> {
    const chainId = await this.chainId();
    this.#verifyingContract ??= (await this.info()).verifyingContract;
    return { chainId, verifyingContract: this.#verifyingContract };
  }

  health(): Promise<{ status: string }> {
    return this.request("GET", "/healthz");
  }

  ready(): Promise<{ status: string; checks: Record<string, string> }> {
    return this.request("GET", "/readyz");
  }

  // ---- agents ---------------------------------------------------------------------------------

  /** Registers an agent from its signed request (`signRegistration`). */
  registerAgent(request: ReturnType<typeof import("@chaoscore/core").signRegistration>) {
    return this.request<AgentRecord>("POST", "/v1/agents", request);
  }

  getAgent(id: string): Promise<AgentRecord> {
    return this.request("GET", `/v1/agents/${enc(id)}`);
  }

  listAgents(
    query: {
      capability?: string;
      owner?: string;
      status?: string;
      text?: string;
      limit?: number;
      cursor?: string;
    } = {},
  ): Promise<Page<AgentRecord>> {
    return this.request("GET", `/v1/agents${queryString(query)}`);
  }

  signingState(id: string): Promise<SigningState> {
    return this.request("GET", `/v1/agents/${enc(id)}/signing-state`);
  }

  /** The next nonce the agent signs with (its last accepted nonce + 1). */
  async nextNonce(id: string): Promise<bigint> {
    return BigInt((await this.signingState(id)).nextNonce);
  }

  agentHistory(id: string): Promise<unknown> {
    return this.request("GET", `/v1/agents/${enc(id)}/history`);
  }

  setAgentStatus(id: string, status: "active" | "suspended" | "revoked", reason: string) {
    return this.request<AgentRecord>("POST", `/v1/agents/${enc(id)}/status`, { status, reason });
  }

  // ---- actions, outcomes, receipts ---------------------------------------------------------------

  /** Records a signed action (idempotent). */
  recordAction(input: {
    entry: ActionEntry;
    payload?: unknown;
    attestation?: unknown;
  }): Promise<SinkResult> {
    return this.request("POST", "/v1/actions", input);
  }

  /** Records a signed outcome (idempotent). */
  recordOutcome(input: { entry: OutcomeEntry; metrics: unknown }): Promise<SinkResult> {
    return this.request("POST", "/v1/outcomes", input);
  }

  getAction(id: string): Promise<ActionRecord> {
    return this.request("GET", `/v1/actions/${enc(id)}`);
  }

  listActions(
    query: {
      agent?: string;
      studio?: string;
      task?: string;
      actionType?: string;
      from?: string;
      to?: string;
      limit?: number;
      cursor?: string;
    } = {},
  ): Promise<Page<ActionRecord>> {
    return this.request("GET", `/v1/actions${queryString(query)}`);
  }

  /**
   * The action's `chaoscore.receipt/v2` receipt (verify it with `verifyReceipt`
   * and the log key from {@link info}). Its payload comes only to the action's
   * agent (this client signs the read with its agent key) or a key scoped
   * admin, read or studio:<id>; others get the receipt without it.
   */
  receipt(id: string, options: { payload?: boolean } = {}): Promise<Receipt> {
    return this.request(
      "GET",
      `/v1/actions/${enc(id)}/receipt${options.payload === false ? "?payload=false" : ""}`,
      undefined,
      { sign: options.payload !== false },
    );
  }

  // ---- the log -----------------------------------------------------------------------------------

  checkpoint(): Promise<{
    origin: string;
    size: number;
    rootHash: string;
    note: string;
    verifierKey: string;
  }> {
    return this.request("GET", "/v1/log/checkpoint");
  }

  checkpoints(limit?: number): Promise<{ items: unknown[] }> {
    return this.request("GET", `/v1/log/checkpoints${queryString({ limit })}`);
  }

  inclusionProof(
    index: number,
    size: number,
  ): Promise<{ index: number; size: number; hashes: string[] }> {
    return this.request("GET", `/v1/log/proofs/inclusion${queryString({ index, size })}`);
  }

  consistencyProof(
    from: number,
    to: number,
  ): Promise<{ from: number; to: number; hashes: string[] }> {
    return this.request("GET", `/v1/log/proofs/consistency${queryString({ from, to })}`);
  }

  anchors(limit?: number): Promise<{ items: unknown[]; explorerUrl: string | null }> {
    return this.request("GET", `/v1/log/anchors${queryString({ limit })}`);
  }

  /**
   * Anchors the current checkpoint now and waits until it is final (operator
   * key; idempotent per tree size, at most 6 a minute). Null for an empty log.
   * @throws ChaosCoreError GATEWAY_FEATURE_DISABLED on a gateway without a chain.
   */
  anchorNow(): Promise<{ anchor: { size: number; txHash: Hex | null; status: string } | null }> {
    return this.request("POST", "/v1/log/anchors");
  }

  search(q: string, options: { limit?: number; cursor?: string } = {}): Promise<SearchResult> {
    return this.request("GET", `/v1/search${queryString({ q, ...options })}`);
  }

  // ---- execution ---------------------------------------------------------------------------------

  /** Runs code in the gateway's sandbox, attested by its TEE. */
  execute(run: {
    code: string;
    input: unknown;
    language?: "javascript" | "typescript";
    seed?: string;
    clock?: number;
    nonce?: Hex;
  }): Promise<AttestedRun> {
    return this.request("POST", "/v1/executions", run);
  }

  // ---- reputation --------------------------------------------------------------------------------

  reputation(agent: string): Promise<{ items: ReputationScore[] }> {
    return this.request("GET", `/v1/reputation/${enc(agent)}`);
  }

  reputationScore(
    agent: string,
    dimension = "overall",
  ): Promise<{
    score: ReputationScore;
    history: unknown[];
    items: unknown[];
    nextCursor: string | null;
  }> {
    return this.request("GET", `/v1/reputation/${enc(agent)}/${enc(dimension)}`);
  }

  topAgents(dimension: string, k = 10): Promise<{ items: ReputationScore[] }> {
    return this.request("GET", `/v1/reputation${queryString({ dimension, k })}`);
  }

  /** The pre-trusted raters of EigenTrust. */
  preTrusted(): Promise<{ agents: Address[] }> {
    return this.request("GET", "/v1/reputation/pre-trusted");
  }

  /** Sets the pre-trusted raters of EigenTrust on this gateway (admin). */
  setPreTrusted(agents: Address[]): Promise<{ agents: Address[] }> {
    return this.request("PUT", "/v1/reputation/pre-trusted", { agents });
  }

  runReputationEpoch(): Promise<{ epoch: number; root: Hex; size: number }> {
    return this.request("POST", "/v1/reputation/epochs");
  }

  // ---- studios and governance --------------------------------------------------------------------

  createStudio(input: Record<string, unknown>): Promise<Studio> {
    return this.request("POST", "/v1/studios", input);
  }

  getStudio(id: string): Promise<Studio> {
    return this.request("GET", `/v1/studios/${enc(id)}`);
  }

  listStudios(
    query: { kind?: string; limit?: number; cursor?: string } = {},
  ): Promise<Page<Studio>> {
    return this.request("GET", `/v1/studios${queryString(query)}`);
  }

  /** Adds tokens to the studio's reward budget on chain (operator key). */
  fundStudio(
    studio: string,
    amount: bigint,
  ): Promise<{ studioId: Hex; budget: string; txHashes: Hex[] }> {
    return this.request("POST", `/v1/studios/${enc(studio)}/budget`, { amount: amount.toString() });
  }

  addMember(studio: string, agent: Address, roles: string[]): Promise<unknown> {
    return this.request("POST", `/v1/studios/${enc(studio)}/members`, { agent, roles });
  }

  listTasks(
    studio: string,
    query: { state?: string; limit?: number; cursor?: string } = {},
  ): Promise<Page<Task>> {
    return this.request("GET", `/v1/studios/${enc(studio)}/tasks${queryString(query)}`);
  }

  getTask(studio: string, task: string): Promise<Task & { history: unknown[] }> {
    return this.request("GET", `/v1/studios/${enc(studio)}/tasks/${enc(task)}`);
  }

  /** Records a signed task transition (`signTaskTransition`); `evaluate` may carry its outcome. */
  transition(
    studio: string,
    transition: string,
    signed: SignedStep & { outcome?: { entry: unknown; metrics: unknown } },
  ): Promise<TransitionResult> {
    return this.request("POST", `/v1/studios/${enc(studio)}/tasks/transitions`, {
      transition,
      ...signed,
    });
  }

  dao(studio: string): Promise<Record<string, unknown>> {
    return this.request("GET", `/v1/studios/${enc(studio)}/dao`);
  }

  proposal(studio: string, proposal: string): Promise<Proposal> {
    return this.request("GET", `/v1/studios/${enc(studio)}/proposals/${enc(proposal)}`);
  }

  analysisTask(
    studio: string,
    proposal: string,
    agent: Address,
  ): Promise<{ taskId: string; payload: unknown }> {
    return this.request(
      "GET",
      `/v1/studios/${enc(studio)}/proposals/${enc(proposal)}/analysis-task${queryString({ agent })}`,
    );
  }

  /** Runs the proposal simulation of an analysis task in the gateway's sandbox, attested. */
  simulate(
    studio: string,
    task: string,
    options: { seed?: string; nonce?: Hex } = {},
  ): Promise<Simulation> {
    return this.request("POST", `/v1/studios/${enc(studio)}/tasks/${enc(task)}/simulate`, options);
  }

  judgement(
    studio: string,
    task: string,
  ): Promise<{
    verdict: "success" | "failure" | "partial";
    score: number;
    metrics: Record<string, unknown>;
  }> {
    return this.request("GET", `/v1/studios/${enc(studio)}/tasks/${enc(task)}/judgement`);
  }

  propose(studio: string, signed: SignedStep): Promise<Proposal> {
    return this.request("POST", `/v1/studios/${enc(studio)}/proposals`, signed);
  }

  vote(studio: string, signed: SignedStep): Promise<{ actionId: Hex; choice: string }> {
    return this.request("POST", `/v1/studios/${enc(studio)}/votes`, signed);
  }

  tally(studio: string, signed: SignedStep): Promise<Proposal> {
    return this.request("POST", `/v1/studios/${enc(studio)}/tallies`, signed);
  }

  executeProposal(studio: string, signed: SignedStep): Promise<Proposal> {
    return this.request("POST", `/v1/studios/${enc(studio)}/executions`, signed);
  }

  // ---- API keys (admin) ------------------------------------------------------------------------

  createApiKey(
    scopes: string[],
    label?: string,
  ): Promise<{ id: string; key: string; scopes: string[] }> {
    return this.request("POST", "/v1/api-keys", {
      scopes,
      ...(label === undefined ? {} : { label }),
    });
  }

  revokeApiKey(id: string): Promise<void> {
    return this.request("DELETE", `/v1/api-keys/${enc(id)}`);
  }
}

/**
 * Iterates every item of a cursor-paginated list.
 * @example
 * for await (const a of paginate((cursor) => client.listActions({ agent, cursor }))) console.log(a.id);
 */
export async function* paginate<T>(
  page: (cursor: string | undefined) => Promise<Page<T>>,
): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const p = await page(cursor);
    yield* p.items;
    cursor = p.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

// ---- answer shapes (the parts clients use; the OpenAPI document has them all) -----------------

export type AgentRecord = {
  identity: {
    id: Address;
    signer: Address;
    status: string;
    registryNonce: string;
    createdAt: string;
    updatedAt: string;
  };
  metadata: { card: Record<string, unknown>; version: number; cardHash: Hex };
};
export type SigningState = {
  agent: Address;
  signer: Address;
  status: string;
  actionNonce: string | null;
  nextNonce: string;
};
export type ActionRecord = {
  id: Hex;
  leafIndex: number;
  agent: Address;
  studio: string;
  task: string;
  actionType: string;
  nonce: string;
  timestamp: string;
  payloadHash: Hex;
  hasPayload: boolean;
  outcomeId: Hex | null;
  recordedAt: string;
};
export type SearchResult = {
  kind: "action" | "agent" | "studio";
  checkpoint: { size: number; rootHash: string; note: string };
  items: {
    action: ActionRecord;
    proof: { leafIndex: number; treeSize: number; rootHash: string; hashes: string[] };
  }[];
  nextCursor: string | null;
};
export type AttestedRun = {
  output: unknown;
  outputHash: Hex;
  inputHash: Hex;
  measurement: Hex;
  quote: Record<string, unknown>;
  attestationHash: Hex;
  recorded: Record<string, unknown>;
};
export type ReputationScore = {
  agent: Address;
  dimension: string;
  value: number;
  confidence: number;
  samples: number;
};
export type Studio = {
  id: string;
  kind: string;
  name: string;
  operator: Address;
  status: string;
} & Record<string, unknown>;
export type Task = {
  id: string;
  studio: string;
  state: string;
  assignee: Address | null;
  lastAction: Hex | null;
} & Record<string, unknown>;
export type TransitionResult = { actionId: Hex; outcomeId?: Hex; task: Task } & Record<
  string,
  unknown
>;
export type Proposal = {
  id: string;
  state: string;
  actions: { propose: Hex; tally?: Hex; execute?: Hex };
  votingEndsAt: number;
} & Record<string, unknown>;
export type Simulation = {
  result: Record<string, unknown>;
  quote: Record<string, unknown>;
  execution: Record<string, unknown>;
};
