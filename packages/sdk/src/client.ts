/**
 * The typed HTTP client of the ChaosCore gateway, one method per route. Keys
 * never leave the caller: entries are signed locally (see {@link AgentRecorder}
 * and `@chaoscore/core`'s `signAction`), and requests are authenticated with
 * an operator API key or signed by the agent (EIP-712 `Request`, docs/api.md).
 * Writes are retried on transient failures with one `Idempotency-Key` per call
 * (client-transport.ts); the answer types are in gateway-answers.ts.
 * @module
 */
import type { ActionEntry, Address, Hex, OutcomeEntry, Receipt } from "@chaoscore/core";
import {
  type ClientOptions,
  queryString,
  type RequestMethod,
  sendRequest,
  type Transport,
} from "./client-transport.js";
import type {
  ActionRecord,
  AgentRecord,
  AttestedRun,
  GatewayInfo,
  Proposal,
  ReputationScore,
  SearchResult,
  SignedStep,
  SigningState,
  Simulation,
  Studio,
  Task,
  TransitionResult,
} from "./gateway-answers.js";
import type { Page } from "./pagination.js";
import type { ActionSink, SinkResult } from "./recorder.js";

export type { ClientOptions } from "./client-transport.js";
export type * from "./gateway-answers.js";
export { type Page, paginate } from "./pagination.js";

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
  readonly #transport: Transport;
  #chainId: bigint | undefined;
  #verifyingContract: Address | undefined;
  #info: Promise<GatewayInfo> | undefined;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#options = options;
    this.#transport = {
      baseUrl: this.baseUrl,
      options,
      fetch: options.fetch ?? globalThis.fetch,
      domain: () => this.domain(),
    };
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
  request<T>(
    method: RequestMethod,
    path: string,
    body?: unknown,
    options: { idempotencyKey?: string; sign?: boolean } = {},
  ): Promise<T> {
    return sendRequest<T>(this.#transport, method, path, body, options);
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
