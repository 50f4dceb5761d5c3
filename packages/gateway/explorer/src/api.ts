/**
 * Reads the gateway's public API (same origin). Errors are RFC 9457
 * problem+json documents with a stable code; they become {@link ApiError}s.
 * @module
 */

/** A failed API call: the problem's code and detail. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    detail: string,
  ) {
    super(detail);
    this.name = "ApiError";
  }
}

/** GETs a JSON document from the gateway. @throws ApiError */
export async function get<T>(path: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { headers: { accept: "application/json" } });
  } catch (cause) {
    throw new ApiError(0, "NETWORK", `the gateway does not answer (${String(cause)})`);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!response.ok) {
    const problem = (body ?? {}) as { code?: unknown; detail?: unknown };
    throw new ApiError(
      response.status,
      typeof problem.code === "string" ? problem.code : `HTTP_${response.status}`,
      typeof problem.detail === "string" ? problem.detail : response.statusText,
    );
  }
  return body as T;
}

/** A query string from defined values. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== null && v !== undefined) q.set(k, String(v));
  const text = q.toString();
  return text === "" ? "" : `?${text}`;
}

/** A page of a list route. */
export type Page<T> = { items: T[]; nextCursor: string | null };

// ---- response shapes (what the explorer reads of them) ---------------------------------------

export type GatewayInfo = {
  chainId: string;
  log: { id: string; origin: string; verifierKey: string };
  trustedTeeRoots: string[];
  features: Record<string, boolean>;
  chain: { explorerUrl: string | null } | null;
};

export type AgentCard = {
  name?: string;
  description?: string;
  capabilities?: string[];
  framework?: string;
  version?: string;
  endpoints?: unknown[];
  codeMeasurement?: string | null;
  owner?: string | null;
};

export type Agent = {
  identity: {
    id: string;
    signer: string;
    status: string;
    registryNonce: string;
    createdAt: string;
    updatedAt: string;
  };
  metadata: { card: AgentCard; version: number; cardHash: string };
};

export type ActionRecord = {
  id: string;
  leafIndex: number;
  agent: string;
  studio: string;
  task: string;
  actionType: string;
  nonce: string;
  timestamp: string;
  payloadHash: string;
  hasPayload: boolean;
  outcomeId: string | null;
  recordedAt: string;
  kind?: string;
  action?: string;
  status?: string;
};

export type Score = {
  agent: string;
  dimension: string;
  value: number;
  confidence: number;
  samples: number;
  lastUpdate: string | null;
  asOf: string;
};

export type HistoryPoint = {
  epoch: number;
  asOf: string;
  value: number;
  alpha: number;
  beta: number;
  samples: number;
  root: string;
};

export type Explained = {
  score: Score;
  items: {
    id: string;
    source: string;
    actionId: string | null;
    rater: string;
    evidence: string;
    x: number;
    weight: number;
    timestamp: string;
  }[];
  nextCursor: string | null;
  history: HistoryPoint[];
};

export type Anchor = {
  status: string;
  chainId: string | number;
  contract: string;
  index: number;
  txHash: string | null;
  blockNumber: number | null;
};

export type Checkpoint = {
  size: number;
  rootHash: string;
  note: string;
  createdAt: string;
  anchors: Anchor[];
};

export type Studio = {
  id: string;
  kind: string;
  name: string;
  operator: string;
  config: Record<string, unknown>;
  rules: Record<string, unknown>;
  rewardPolicy: Record<string, unknown>;
  spent: string;
  status: string;
  createdAt: string;
};

export type Task = {
  studio: string;
  id: string;
  title: string;
  role: string | null;
  state: string;
  assignee: string | null;
  deadline: number | null;
  result: unknown;
  input: unknown;
  verdict: string | null;
  score: number | null;
  reward: string | null;
  submitAction: string | null;
  lastAction: string | null;
  createdAt: string;
  updatedAt: string;
  history?: {
    seq: number;
    transition: string;
    from: string | null;
    to: string;
    actor: string;
    actionId: string;
    at: string;
  }[];
};

export type Proposal = {
  studio: string;
  id: string;
  proposal: Record<string, unknown> & { title?: string; kind?: string };
  state: string;
  votingEndsAt: number | null;
  tally: Record<string, number | boolean> | null;
  daoBefore: unknown;
  daoAfter: unknown;
  actions: Record<string, string>;
  votes: { agent: string; choice: string; reason: string; actionId: string; at: string }[];
  rewardPlan: { task: string; agent: string; amount: string }[];
  createdAt: string;
};

export type SearchResult = {
  kind: "action" | "agent" | "studio";
  checkpoint: { size: number; rootHash: string };
  items: { action: ActionRecord; proof: { leafIndex: number; treeSize: number } }[];
  nextCursor: string | null;
};
