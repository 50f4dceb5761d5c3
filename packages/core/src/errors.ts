/**
 * The one error type of ChaosCore. Every failure that a caller can act on is a
 * `ChaosCoreError` with a stable `code` (codes are API: see docs/errors.md).
 *
 * @example
 * ```ts
 * try { verifyReceipt(receipt, key) } catch (e) {
 *   if (isChaosCoreError(e) && e.code === "RECEIPT_INCLUSION_INVALID") { ... }
 * }
 * ```
 */
export class ChaosCoreError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name = "ChaosCoreError";
  readonly code: C;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: C,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  /** A JSON-safe view (code, message, details) for logs, CLIs and HTTP problems. */
  toJSON(): { code: C; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Throws a {@link ChaosCoreError}: the one `fail` every package uses.
 * @example
 * ```ts
 * if (agent === undefined) fail("REGISTRY_AGENT_NOT_FOUND", "no such agent", { agentId });
 * ```
 */
export function fail(
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
  cause?: unknown,
): never {
  throw new ChaosCoreError(code, message, {
    ...(details === undefined ? {} : { details }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** True when `value` is a ChaosCoreError, optionally with the given code. */
export function isChaosCoreError<C extends ErrorCode>(
  value: unknown,
  code?: C,
): value is ChaosCoreError<C> {
  return value instanceof ChaosCoreError && (code === undefined || value.code === code);
}

/**
 * Every stable error code, grouped by component. Adding a code means adding
 * it here and to docs/errors.md (a test keeps the two in sync).
 */
export const ERROR_CODES = {
  // core
  INVALID_HEX: "a value is not lowercase 0x-prefixed hex of the expected length",
  INVALID_JSON: "a value is not valid JSON or cannot be canonicalized (RFC 8785)",
  INVALID_INPUT: "a value does not have the expected shape",
  SIGNATURE_MALFORMED: "a signature is not 65 bytes r‖s‖v with low s and v in {27, 28}",
  SIGNATURE_INVALID: "a signature does not recover to the expected signer",
  // merkle (RFC 9162)
  MERKLE_INDEX_OUT_OF_RANGE: "a leaf index or tree size is out of range",
  MERKLE_PROOF_MALFORMED: "a proof has the wrong number or size of hashes",
  MERKLE_INCLUSION_PROOF_INVALID: "an inclusion proof does not lead to the expected root",
  MERKLE_CONSISTENCY_PROOF_INVALID: "a consistency proof does not link the two roots",
  // checkpoints and signed notes (C2SP)
  NOTE_MALFORMED: "a signed note or verifier key does not follow the C2SP signed-note format",
  NOTE_SIGNATURE_INVALID: "no signature on the note verifies under the trusted key",
  CHECKPOINT_MALFORMED: "a checkpoint body does not follow the C2SP tlog-checkpoint format",
  CHECKPOINT_ORIGIN_MISMATCH: "a checkpoint's origin is not the expected log's (or its key name's)",
  COSIGNATURE_MALFORMED:
    "a witness key, cosignature line or cosigned note does not follow the C2SP tlog-cosignature format",
  // shard certificates (a log family's key certifies a shard's origin and key)
  SHARD_CERTIFICATE_MALFORMED:
    "a shard certificate is not a signed chaoscore.log-shard/v1 note (or names shard 0)",
  SHARD_CERTIFICATE_ORIGIN_INVALID:
    "a shard certificate's shard origin is not <family origin>/s<n>, or its shard key is named otherwise",
  SHARD_CERTIFICATE_WRONG_FAMILY:
    "a shard certificate names another log family than the trusted key's",
  SHARD_CERTIFICATE_SIGNATURE_INVALID: "a shard certificate is not signed by the log family's key",
  // receipts
  RECEIPT_MALFORMED: "a receipt does not match the chaoscore.receipt/v2 schema",
  RECEIPT_UNSUPPORTED_FORMAT: "a receipt's format tag is not one this verifier knows",
  RECEIPT_CHECKPOINT_INVALID: "the receipt's checkpoint is not signed by the trusted log key",
  RECEIPT_INCLUSION_INVALID: "an entry of the receipt is not included in the checkpoint's tree",
  RECEIPT_SIGNATURE_INVALID: "an entry of the receipt is not signed by its agent",
  RECEIPT_SIGNER_PROOF_INVALID: "the key-rotation chain does not link the signer to the agent",
  RECEIPT_OUTCOME_MISMATCH: "the receipt's outcome does not refer to the receipt's action",
  RECEIPT_PAYLOAD_MISMATCH: "the receipt's payload does not hash to the action's payload hash",
  RECEIPT_ANCHOR_MISMATCH: "the receipt's anchor is not the anchor of its checkpoint",
  RECEIPT_ATTESTATION_MISMATCH:
    "the receipt's attestation does not hash to the action's attestation hash",
  RECEIPT_ATTESTATION_INVALID: "the receipt's attestation does not verify under the given policy",
  RECEIPT_WITNESS_QUORUM:
    "the receipt's checkpoint lacks the cosignatures of the trust policy's quorum of witnesses",
  RECEIPT_ANCHOR_UNTRUSTED:
    "the receipt's anchor is on a chain or contract the trust policy does not name",
  RECEIPT_SHARD_UNCERTIFIED:
    "the receipt's checkpoint is of a shard of the trusted log family but the receipt carries no shard certificate",
  RECEIPT_SHARD_CERTIFICATE_INVALID:
    "the receipt's shard certificate does not verify under the trusted log family key",
  RECEIPT_SHARD_MISMATCH:
    "the receipt's shard certificate is for another origin than its checkpoint's",
  // trust policies
  TRUST_POLICY_MALFORMED:
    "a trust policy is not a chaoscore.trust-policy/v1 document or one of its keys does not parse",
  TRUST_POLICY_NO_KEY: "a trust policy names no log key",
  TRUST_POLICY_DUPLICATE_KEY: "a trust policy lists the same witness key twice",
  TRUST_POLICY_QUORUM_INVALID: "a trust policy's quorum exceeds the number of its witness keys",
  // monitor (chaoscore log monitor)
  MONITOR_STATE_INVALID:
    "the monitor's state file is not a chaoscore.monitor-state/v1 document, is inconsistent, or is for another log key",
  // store
  STORE_UNAVAILABLE: "the database cannot be reached (retryable)",
  STORE_CONFLICT: "a write conflicted with a concurrent transaction (retryable)",
  STORE_CONSTRAINT_VIOLATION: "a write conflicts with data already stored",
  STORE_QUERY_FAILED:
    "the database refused an operation for a reason other than its reachability (a bug)",
  STORE_MIGRATION_FAILED: "a schema migration failed",
  STORE_DATA_DIR_LOCKED:
    "another running process holds the embedded data directory (one writer per directory)",
  STORE_NOT_A_REPLICA:
    "the read database is not a streaming replica of the primary (not in recovery, or of another cluster)",
  // registry
  AGENT_NOT_FOUND: "no agent is registered under this id",
  AGENT_ALREADY_REGISTERED: "an agent is already registered under this id",
  AGENT_NOT_ACTIVE: "the agent is suspended or revoked",
  AGENT_BAD_SIGNATURE: "a registry message is not signed by the agent's current key",
  AGENT_CARD_INVALID: "an agent card does not match the agent card schema",
  AGENT_NONCE_NOT_INCREASING: "a registry message reuses or lowers the agent's registry nonce",
  AGENT_CHALLENGE_INVALID: "a challenge is unknown, expired or already answered",
  AGENT_STATUS_TRANSITION_INVALID: "the agent cannot move from its status to the requested one",
  AGENT_REQUEST_MALFORMED: "a registry request, message, query or cursor is malformed",
  AGENT_WRONG_CHAIN: "a registry message was signed for another chain id",
  AGENT_EXPIRED: "a registry message's expiry has passed",
  AGENT_CARD_HASH_MISMATCH: "the signed card hash is not the hash of the card",
  AGENT_CARD_IMPORT_INVALID:
    "an A2A AgentCard or ERC-8004 registration file cannot be read as a ChaosCore agent card",
  AGENT_CARD_SIGNATURE_INVALID: "an A2A AgentCard's JWS signature does not verify over the card",
  AGENT_VERSION_INVALID: "a card update's version is not the current version plus one",
  AGENT_KEY_PROOF_INVALID: "a key rotation is not also signed by the new key",
  AGENT_KEY_REUSED: "the new signing key is, or was, a key of this agent",
  AGENT_SIGNER_UNKNOWN: "the address was never a signing key of this agent",
  // agency (Proof of Agency)
  AGENCY_MALFORMED: "an action or outcome does not match its schema",
  AGENCY_BAD_SIGNATURE: "an action or outcome is not signed by its agent's registered key",
  AGENCY_WRONG_CHAIN: "the message was signed for another chain id",
  AGENCY_WRONG_DEPLOYMENT: "the message was signed for another deployment (verifyingContract)",
  AGENCY_EXPIRED: "the message's expiry has passed",
  AGENCY_CLOCK_SKEW: "the message's timestamp is too far from the server's clock",
  AGENCY_NONCE_NOT_INCREASING: "the nonce is not larger than the agent's last accepted nonce",
  AGENCY_NONCE_GAP_TOO_LARGE: "the nonce jumps too far ahead of the agent's last accepted nonce",
  AGENCY_ENTRY_TOO_LARGE: "the signed log entry exceeds the entry size limit",
  AGENCY_PAYLOAD_TOO_LARGE: "the payload exceeds the payload size limit",
  AGENCY_PAYLOAD_MISMATCH: "the payload does not hash to the signed payload hash",
  AGENCY_ACTION_NOT_FOUND: "no action is recorded under this id",
  AGENCY_PARENT_NOT_FOUND: "a parent action is not recorded",
  AGENCY_OUTCOME_EXISTS: "the evaluator already posted an outcome of this action",
  AGENCY_OUTCOME_NOT_AUTHORIZED: "the outcome's signer may not judge this action",
  AGENCY_ATTESTATION_REQUIRED: "the action must carry an execution attestation and does not",
  AGENCY_ATTESTATION_MISMATCH:
    "the attestation sent does not hash to the action's signed attestation hash",
  AGENCY_ATTESTATION_INVALID: "the action's attestation does not verify under the log's policy",
  AGENCY_QUEUE_FULL:
    "the ingest queue is full (entries or bytes); retry after a moment (retryable)",
  AGENCY_VERIFIER_UNAVAILABLE:
    "signature recovery failed for reasons other than the signature (a worker died; retryable)",
  // log
  LOG_NOT_FOUND: "no log exists under this id",
  LOG_SHARD_FROZEN:
    "the write names a frozen shard of the log; write to the active shard it names instead",
  LOG_AUDIT_FAILED: "the stored log does not match its leaves, signatures or checkpoints",
  LOG_TILE_NOT_FOUND:
    "the tree (on the side that answered) has no such tile or entry bundle yet (tlog-tiles: 404)",
  LOG_NOT_YET_CHECKPOINTED:
    "the entry is in the log but no published checkpoint covers it yet (retryable)",
  // witness (C2SP tlog-witness)
  WITNESS_REQUEST_MALFORMED:
    "an add-checkpoint request body does not follow the C2SP tlog-witness format",
  WITNESS_UNKNOWN_LOG: "the witness does not follow a log with this checkpoint's origin",
  WITNESS_SIGNATURE_INVALID:
    "the checkpoint is not signed by the key the witness holds for its log",
  WITNESS_SIZE_CONFLICT:
    "the request's old size is not the size of the checkpoint the witness holds",
  WITNESS_PROOF_INVALID:
    "the consistency proof does not link the witness's checkpoint to the new one",
  WITNESS_UNAVAILABLE: "a witness could not be reached or did not answer in time (retryable)",
  // chain (Ethereum: contracts, BlockchainClient, anvil)
  CHAIN_RPC_UNREACHABLE:
    "the Ethereum JSON-RPC endpoint cannot be reached or keeps failing (retryable)",
  CHAIN_RPC_ERROR: "the Ethereum JSON-RPC endpoint answered a request with an unexpected error",
  CHAIN_WRONG_CHAIN: "the JSON-RPC endpoint serves another chain id than the expected one",
  CHAIN_INSUFFICIENT_FUNDS: "the sending account cannot pay for the transaction's gas and value",
  CHAIN_NOT_DEPLOYED: "there is no contract code at a configured contract address",
  CHAIN_REVERTED: "a contract call or transaction reverted (details name the decoded error)",
  CHAIN_TX_REJECTED: "the node refused a signed transaction (fees, nonce, size or gas limit)",
  CHAIN_TIMEOUT: "a transaction was not mined or not confirmed within the time allowed",
  CHAIN_KEYSTORE_PASSWORD: "the keystore password is missing or does not decrypt the keystore",
  CHAIN_KEYSTORE_INVALID:
    "a key file is not an Ethereum keystore v3 JSON, or a private key is malformed",
  CHAIN_DEPLOYMENTS_INVALID: "a deployments file is missing, malformed, or for another chain",
  CHAIN_ANVIL_FAILED: "the local anvil node could not be started or stopped",
  // anchoring (checkpoints and agent cards on chain)
  ANCHOR_LOG_MISMATCH:
    "the chain holds a checkpoint of this log that the local log does not contain (another log with the same origin, or a reset database)",
  // execution (sandbox, re-execution) and attestation
  EXECUTION_BAD_INPUT: "the code, input, seed, clock or limits of a sandbox run are not acceptable",
  EXECUTION_COMPILE_ERROR:
    "the agent code does not compile (syntax error, TypeScript error or an import)",
  EXECUTION_CODE_ERROR: "the agent code threw an exception or does not export a main function",
  EXECUTION_TIMEOUT: "the sandbox run exceeded its wall-clock time limit",
  EXECUTION_CPU_LIMIT: "the sandbox run used up its gas budget",
  EXECUTION_MEMORY_LIMIT: "the sandbox run exceeded its memory limit",
  EXECUTION_STACK_OVERFLOW: "the sandbox run exceeded its stack size limit",
  EXECUTION_OUTPUT_TOO_LARGE: "the sandbox run's output exceeds the output size limit",
  EXECUTION_LOG_TOO_LARGE: "the sandbox run's log exceeds the log size limit",
  EXECUTION_BAD_OUTPUT: "the sandbox run's result is not a JSON value",
  EXECUTION_SANDBOX_FAILURE: "the sandbox engine itself failed; the run was discarded (retryable)",
  EXECUTION_REPLAY_MISMATCH:
    "a re-execution did not reproduce the recorded output hash or measurement",
  EXECUTION_RECORD_MALFORMED:
    "a recorded execution does not match the chaoscore.execution/v2 schema",
  ATTESTATION_MALFORMED: "an attestation quote does not match the chaoscore.attestation/v1 schema",
  ATTESTATION_SIGNATURE_INVALID: "the quote's signature does not verify under its enclave key",
  ATTESTATION_CHAIN_INVALID:
    "the quote's enclave key is not certified by a trusted root at the quote's time",
  ATTESTATION_MEASUREMENT_NOT_ALLOWED: "the quote's measurement is not in the policy's allow-list",
  ATTESTATION_MEASUREMENT_MISMATCH:
    "the quote's measurement is not the measurement of the recorded code",
  ATTESTATION_STALE: "the quote's timestamp is older than the policy allows, or in the future",
  ATTESTATION_REPORT_DATA_MISMATCH:
    "the quote's report data does not bind the expected input, output and nonce",
  // real TEE evidence (AWS Nitro, Intel TDX): docs/spec/attestation.md §6–§8
  ATTESTATION_EVIDENCE_MALFORMED:
    "TEE evidence (Nitro document, TDX quote, or its collateral) is truncated or not of its format",
  ATTESTATION_ALGORITHM_UNSUPPORTED:
    "TEE evidence uses a signature algorithm other than the platform's (Nitro: COSE ES384)",
  ATTESTATION_UNSUPPORTED_QUOTE:
    "a TDX quote has an unknown version, TEE type, attestation key type or certification data type",
  ATTESTATION_ROOT_UNTRUSTED: "the evidence's certificate chain does not end at a pinned root",
  ATTESTATION_CERT_EXPIRED: "a certificate of the evidence is not valid at the time checked",
  ATTESTATION_CERT_REVOKED: "a certificate of the evidence is revoked by the given CRL",
  ATTESTATION_NITRO_SIGNATURE_INVALID:
    "a Nitro attestation document's COSE ES384 signature does not verify under its certificate",
  ATTESTATION_TDX_QUOTE_SIGNATURE_INVALID:
    "a TDX quote's ECDSA signature does not verify under its attestation key",
  ATTESTATION_TDX_QE_REPORT_SIGNATURE_INVALID:
    "a TDX quote's QE report is not signed by its PCK certificate",
  ATTESTATION_TDX_QE_BINDING_INVALID:
    "a TDX quote's QE report data is not SHA-256(attestation key ‖ QE authentication data)",
  ATTESTATION_COLLATERAL_INVALID:
    "TCB info or QE identity collateral is not signed by the Intel TCB signing key chain",
  ATTESTATION_COLLATERAL_MISMATCH:
    "the collateral is for another platform (FMSPC, PCE id, TEE) or QE than the quote",
  ATTESTATION_COLLATERAL_EXPIRED: "the collateral is not valid at the time checked",
  ATTESTATION_TCB_STATUS_NOT_ALLOWED:
    "the evidence's TCB status (or QE identity status) is not one the policy accepts",
  ATTESTATION_DEBUG_NOT_ALLOWED: "the TD or enclave runs in debug mode and the policy refuses it",
  ATTESTATION_AGENT_MISMATCH:
    "the attestation's nonce does not bind the acting agent (nonce = agent address ‖ salt)",
  ATTESTATION_VERIFIER_MISSING:
    "real TEE evidence must be judged and no evidence verifier was given to the receipt verifier",
  ATTESTATION_SNP_REPORT_SIGNATURE_INVALID:
    "an AMD SEV-SNP attestation report's signature does not verify under its VCEK",
  ATTESTATION_SNP_VCEK_MISMATCH:
    "the VCEK certificate is not for the report's chip or reported TCB",
  // studio (studios, members, tasks; the governance studio)
  STUDIO_CONFIG_INVALID:
    "a studio's config, rules or reward policy does not match the schema of its kind",
  STUDIO_NOT_FOUND: "no studio exists under this id",
  STUDIO_EXISTS: "a studio already exists under this id",
  STUDIO_ARCHIVED: "the studio is archived and accepts no changes",
  STUDIO_NOT_MEMBER: "the agent is not a member of the studio",
  STUDIO_ROLE_FORBIDDEN: "the agent's roles in the studio do not allow this step",
  STUDIO_ENTRY_INVALID:
    "a signed studio entry or its payload does not match the studio, task, step or payload schema",
  STUDIO_TASK_NOT_FOUND: "no task exists under this id in the studio",
  STUDIO_TASK_EXISTS: "a task already exists under this id in the studio",
  STUDIO_TASK_CYCLE: "the task dependencies would form a cycle",
  STUDIO_TRANSITION_INVALID:
    "the transition is not legal from the task's (or proposal's) current state, or does not follow its last action",
  STUDIO_TASK_BLOCKED: "a task this task depends on is not done yet",
  STUDIO_TASK_EXPIRED: "the task's deadline has passed",
  STUDIO_RETRIES_EXHAUSTED: "the task has been reopened its maximum number of times",
  STUDIO_ASSIGNEE_INELIGIBLE: "the agent lacks a capability or the reputation the task requires",
  STUDIO_ATTESTATION_REQUIRED:
    "the submission must carry an attestation with an allowed measurement, bound to its result",
  STUDIO_BUDGET_EXCEEDED: "the reward exceeds the studio's remaining budget",
  STUDIO_REWARD_INVALID: "the reward does not follow the studio's reward policy",
  STUDIO_PROPOSAL_NOT_FOUND: "no proposal exists under this id in the governance studio",
  STUDIO_PROPOSAL_INVALID: "a proposal does not match the proposal schema or the DAO's limits",
  STUDIO_VOTE_INVALID: "a vote is a duplicate, outside the voting period, or has a bad choice",
  // reputation
  REPUTATION_AGENT_NOT_FOUND: "no agent is registered under this id (a subject or a rater)",
  REPUTATION_ACTION_NOT_FOUND:
    "the outcome or the feedback's evidence names an action not in the log",
  REPUTATION_OUTCOME_NOT_FOUND: "no outcome is recorded in the log under this id",
  REPUTATION_EVIDENCE_MISMATCH:
    "the evidence action is not the subject's, or has no outcome in the log",
  REPUTATION_VALUE_OUT_OF_RANGE: "a feedback value is not a number in [0, 1]",
  REPUTATION_DIMENSION_INVALID: "a dimension is not overall, capability:<name> or studio:<name>",
  REPUTATION_SELF_RATING: "an agent gave feedback about itself",
  REPUTATION_INPUT_INVALID: "a reputation request, option, query or cursor is malformed",
  REPUTATION_EPOCH_NOT_FOUND: "no reputation epoch is committed under this number",
  REPUTATION_SCORE_NOT_IN_EPOCH: "the epoch commits no score for this agent and dimension",
  REPUTATION_PROOF_INVALID:
    "a score proof is malformed or does not lead to the expected epoch root",
  // gateway (HTTP)
  GATEWAY_REQUEST_INVALID:
    "a request's parameters, query, headers or body do not match the route's schema",
  GATEWAY_MALFORMED_JSON: "a request body is not valid JSON",
  GATEWAY_UNSUPPORTED_MEDIA_TYPE: "a request body is not application/json",
  GATEWAY_PAYLOAD_TOO_LARGE: "a request body exceeds the gateway's body size limit",
  GATEWAY_HEADERS_TOO_LARGE: "a request's headers exceed the HTTP server's header size limit",
  GATEWAY_ROUTE_NOT_FOUND: "no route answers this path",
  GATEWAY_METHOD_NOT_ALLOWED: "the path exists but does not answer this method",
  GATEWAY_URI_TOO_LONG: "a path parameter exceeds the router's length limit",
  GATEWAY_UNAUTHENTICATED: "the route needs an API key or an agent-signed request and got neither",
  GATEWAY_API_KEY_INVALID: "the API key is malformed, unknown or revoked",
  GATEWAY_API_KEY_NOT_FOUND: "no live API key has this id",
  GATEWAY_LAST_ADMIN_KEY: "the last live admin key cannot be revoked",
  GATEWAY_API_KEY_SELF_REVOKE: "an API key cannot revoke itself",
  GATEWAY_FORBIDDEN: "the caller's key scope or agent identity does not allow this request",
  GATEWAY_REQUEST_SIGNATURE_INVALID:
    "an agent-signed request's headers are malformed or its signature is not the agent's current key",
  GATEWAY_REQUEST_EXPIRED: "an agent-signed request's expiry has passed or is too far ahead",
  GATEWAY_REQUEST_REPLAYED: "an agent-signed request's nonce was used before",
  GATEWAY_REQUEST_WRONG_ORIGIN: "an agent-signed request was signed for another gateway origin",
  GATEWAY_IDEMPOTENCY_KEY_IN_USE:
    "the first request with this Idempotency-Key is still running (retryable)",
  GATEWAY_IDEMPOTENCY_KEY_REUSED: "an Idempotency-Key was used before with a different request",
  GATEWAY_RATE_LIMITED: "the caller sent more requests than its rate limit allows (retryable)",
  GATEWAY_REGISTRATION_REFUSED:
    "the gateway's registration policy refuses this agent's self-registration",
  GATEWAY_FEATURE_DISABLED: "the gateway runs without the component this route needs",
  GATEWAY_NOT_READY: "the gateway is starting or shutting down (retryable)",
  GATEWAY_INTERNAL: "the gateway failed on a request it should have handled (a bug)",
  // SDK (HTTP client)
  SDK_GATEWAY_UNREACHABLE: "the gateway cannot be reached or did not answer in time (retryable)",
  SDK_RESPONSE_INVALID: "the gateway answered with something that is not the expected JSON",
  SDK_PEER_MISSING:
    "an SDK adapter entry point was imported without its framework (a peer dependency) installed",
  // MCP (server and recording middleware)
  MCP_ARGUMENTS_NOT_JSON: "an MCP tool call's arguments or result are not JSON-serialisable",
  MCP_CALL_FAILED: "an MCP server failed a recorded tool call (error, garbage or timeout)",
  MCP_TOOL_FAILED: "a ChaosCore MCP tool failed with an error that is not a ChaosCoreError",
  // CLI
  CLI_NOT_INITIALIZED: "the data directory has no ChaosCore configuration (run `chaoscore init`)",
  CLI_KEYSTORE_PASSWORD: "the keystore password is missing or wrong",
} as const;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;
