/**
 * Translation of JSON-RPC and ethers errors into coded `ChaosCoreError`s, and
 * decoding of revert data with the contracts' ABIs.
 *
 * @module
 */
import { ChaosCoreError, isChaosCoreError } from "@chaoscore/core";
import { AbiCoder, type ErrorFragment, Interface, type Result } from "ethers";
import { CONTRACT_NAMES, loadArtifact } from "./artifacts.js";
import type { Hex } from "./types.js";

/** A revert, decoded. `error` is the custom error's name (`Error` / `Panic` for the built-ins). */
export type DecodedRevert = {
  readonly error: string;
  /** The error's arguments by name (by position when unnamed); integers as decimal strings. */
  readonly args: Readonly<Record<string, unknown>>;
  /** The error's signature, e.g. `SizeNotIncreasing(bytes32,uint64,uint64)`. */
  readonly signature: string;
  readonly selector: Hex;
};

const ERROR_STRING = "0x08c379a0";
const PANIC = "0x4e487b71";

/**
 * Decodes revert data with the errors of the given ABIs (default: every
 * ChaosCore contract, including the OpenZeppelin errors they inherit).
 * Returns `undefined` when the data is empty or its selector is unknown.
 * @example
 * ```ts
 * decodeRevert("0x…")?.error; // "SizeNotIncreasing"
 * ```
 */
export function decodeRevert(
  data: string | undefined | null,
  iface: Interface = defaultErrorInterface(),
): DecodedRevert | undefined {
  if (typeof data !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(data) || data.length < 10) {
    return undefined;
  }
  const selector = data.slice(0, 10).toLowerCase() as Hex;
  const body = `0x${data.slice(10)}`;
  try {
    if (selector === ERROR_STRING) {
      const [message] = AbiCoder.defaultAbiCoder().decode(["string"], body);
      return { error: "Error", args: { message }, signature: "Error(string)", selector };
    }
    if (selector === PANIC) {
      const [code] = AbiCoder.defaultAbiCoder().decode(["uint256"], body);
      return {
        error: "Panic",
        args: { code: jsonSafe(code) },
        signature: "Panic(uint256)",
        selector,
      };
    }
    const fragment = iface.getError(selector);
    if (fragment === null) return undefined;
    const values = iface.decodeErrorResult(fragment, data);
    return {
      error: fragment.name,
      args: namedArgs(fragment, values),
      signature: fragment.format("sighash"),
      selector,
    };
  } catch {
    return undefined;
  }
}

let defaultInterface: Interface | undefined;

/** One Interface holding the errors of every ChaosCore contract (deduplicated by selector). */
export function defaultErrorInterface(): Interface {
  if (defaultInterface === undefined) {
    defaultInterface = errorInterface(CONTRACT_NAMES.map((n) => loadArtifact(n).abi));
  }
  return defaultInterface;
}

/** An Interface holding the error fragments of several ABIs (first one wins on a selector clash). */
export function errorInterface(abis: readonly (readonly unknown[])[]): Interface {
  const seen = new Set<string>();
  const fragments: unknown[] = [];
  for (const abi of abis) {
    for (const item of abi) {
      if ((item as { type?: string }).type !== "error") continue;
      const sig = new Interface([item as never]).getError((item as { name: string }).name);
      if (sig === null || seen.has(sig.selector)) continue;
      seen.add(sig.selector);
      fragments.push(item);
    }
  }
  return new Interface(fragments as never);
}

function namedArgs(fragment: ErrorFragment, values: Result): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  fragment.inputs.forEach((input, i) => {
    out[input.name === "" ? String(i) : input.name] = jsonSafe(values[i]);
  });
  return out;
}

/** bigints to decimal strings, Results to arrays: a value safe for `details`. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return Array.from(value, jsonSafe);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}

// ---- classification ---------------------------------------------------------------------------

type Raw = {
  code?: unknown;
  message?: unknown;
  shortMessage?: unknown;
  data?: unknown;
  error?: { code?: unknown; message?: unknown; data?: unknown };
  info?: {
    error?: { code?: unknown; message?: unknown; data?: unknown };
    responseStatus?: unknown;
  };
  cause?: unknown;
};

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "NETWORK_ERROR",
  "TIMEOUT",
]);

const TRANSIENT_MESSAGES =
  /header not found|rate limit|too many requests|timeout|timed out|temporarily unavailable|try again|service unavailable|bad gateway|socket hang up|connection (?:reset|refused|closed)|ECONNREFUSED|ECONNRESET|fetch failed|missing response|request failed/i;

/** The JSON-RPC error object inside an ethers error, if any. */
function rpcError(e: Raw): { code?: unknown; message?: unknown; data?: unknown } | undefined {
  return e.info?.error ?? e.error;
}

function messageOf(e: Raw): string {
  const rpc = rpcError(e);
  return [rpc?.message, e.shortMessage, e.message].filter((m) => typeof m === "string").join(" | ");
}

/**
 * Whether an error is worth retrying: network failures, HTTP 429 / 5xx,
 * `-32000 header not found`, rate limits. Never a revert, a nonce or funds problem.
 */
export function isTransientError(error: unknown): boolean {
  if (isChaosCoreError(error)) return error.code === "CHAIN_RPC_UNREACHABLE";
  if (error === null || typeof error !== "object") return false;
  const e = error as Raw;
  if (
    e.code === "CALL_EXCEPTION" ||
    e.code === "INSUFFICIENT_FUNDS" ||
    e.code === "NONCE_EXPIRED"
  ) {
    return false;
  }
  if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return true;
  const cause = e.cause as Raw | undefined;
  if (cause !== undefined && typeof cause.code === "string" && NETWORK_CODES.has(cause.code)) {
    return true;
  }
  const status = Number(e.info?.responseStatus?.toString().slice(0, 3));
  if (status === 429 || (status >= 500 && status < 600)) return true;
  const rpc = rpcError(e);
  if (rpc?.code === -32005 || rpc?.code === 429) return true;
  if (e.code === "SERVER_ERROR") return true;
  if (rpc !== undefined && rpc.code !== -32000 && rpc.code !== -32603) return false;
  return TRANSIENT_MESSAGES.test(messageOf(e));
}

/** The revert data carried by an ethers / JSON-RPC error, if any. */
export function revertDataOf(error: unknown): Hex | undefined {
  if (error === null || typeof error !== "object") return undefined;
  const e = error as Raw;
  for (const d of [e.data, rpcError(e)?.data, (rpcError(e)?.data as Raw | undefined)?.data]) {
    if (typeof d === "string" && /^0x([0-9a-fA-F]{2})*$/.test(d)) return d as Hex;
  }
  return undefined;
}

/** Whether an error says the transaction reverted (estimate, call, or mined). */
export function isRevertError(error: unknown): boolean {
  if (error === null || typeof error !== "object") return false;
  const e = error as Raw;
  if (e.code === "CALL_EXCEPTION") return true;
  const rpc = rpcError(e);
  return rpc?.code === 3 || /execution reverted|revert/i.test(String(rpc?.message ?? ""));
}

/**
 * The CHAIN_REVERTED error for a revert: details `{ error, args, signature, data, ...context }`
 * (`error: "unknown"` when the selector matches no known ABI).
 */
export function revertedError(
  data: Hex | undefined,
  context: Record<string, unknown>,
  options: { cause?: unknown; iface?: Interface } = {},
): ChaosCoreError<"CHAIN_REVERTED"> {
  const decoded = decodeRevert(data, options.iface);
  const what =
    decoded === undefined
      ? data === undefined || data === "0x"
        ? "without a reason"
        : `with unknown error data ${data.slice(0, 10)}`
      : `with ${decoded.error}(${Object.entries(decoded.args)
          .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
          .join(", ")})`;
  const where =
    typeof context.contract === "string" && typeof context.function === "string"
      ? `${context.contract}.${context.function}`
      : "the call";
  return new ChaosCoreError("CHAIN_REVERTED", `${where} reverted ${what}`, {
    details: {
      ...context,
      error: decoded?.error ?? "unknown",
      args: decoded?.args ?? {},
      ...(decoded === undefined ? {} : { signature: decoded.signature }),
      data: data ?? "0x",
    },
    ...(options.cause === undefined ? {} : { cause: options.cause }),
  });
}

/**
 * The coded error for a failed JSON-RPC call that is not worth retrying: CHAIN_REVERTED
 * (decoded with `iface`), CHAIN_INSUFFICIENT_FUNDS, CHAIN_TX_REJECTED (`details.reason`:
 * `nonce`, `replacement` or the node's message), else CHAIN_RPC_ERROR.
 */
export function translateRpcError(e: unknown, method: string, iface: Interface): ChaosCoreError {
  if (isChaosCoreError(e)) return e;
  const raw = e as { code?: unknown };
  if (isRevertError(e)) return revertedError(revertDataOf(e), { method }, { cause: e, iface });
  if (raw.code === "INSUFFICIENT_FUNDS") {
    return new ChaosCoreError(
      "CHAIN_INSUFFICIENT_FUNDS",
      "the account cannot pay for gas and value",
      {
        details: { method },
        cause: e,
      },
    );
  }
  if (raw.code === "NONCE_EXPIRED" || raw.code === "REPLACEMENT_UNDERPRICED") {
    return new ChaosCoreError(
      "CHAIN_TX_REJECTED",
      `the node refused the transaction: ${describeRpcError(e)}`,
      {
        details: { method, reason: raw.code === "NONCE_EXPIRED" ? "nonce" : "replacement" },
        cause: e,
      },
    );
  }
  if (method === "eth_sendRawTransaction") {
    return new ChaosCoreError(
      "CHAIN_TX_REJECTED",
      `the node refused the transaction: ${describeRpcError(e)}`,
      {
        details: { method, reason: describeRpcError(e) },
        cause: e,
      },
    );
  }
  return new ChaosCoreError("CHAIN_RPC_ERROR", `${method} failed: ${describeRpcError(e)}`, {
    details: { method, rpcError: describeRpcError(e) },
    cause: e,
  });
}

/** A short, secret-free description of an unexpected RPC error (for `details.rpcError`). */
export function describeRpcError(error: unknown): string {
  if (error === null || typeof error !== "object") return String(error);
  const e = error as Raw;
  const rpc = rpcError(e);
  if (rpc !== undefined) return `${String(rpc.code)} ${String(rpc.message)}`;
  return `${typeof e.code === "string" ? `${e.code} ` : ""}${String(e.shortMessage ?? e.message ?? "")}`.slice(
    0,
    300,
  );
}
