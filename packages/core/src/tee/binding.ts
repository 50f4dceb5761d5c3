/**
 * Binding attestation evidence to the acting agent and its execution
 * (docs/spec/attestation.md §9). Every format binds the same values:
 *
 * - `nonce` = the acting agent's address (20 bytes) ‖ a salt (12–44 random bytes);
 * - `reportData` = SHA-256(inputHash ‖ outputHash ‖ nonce) (the mock quote's
 *   field; Nitro `user_data`; the first 32 bytes of TDX REPORTDATA, whose last
 *   32 bytes are SHA-256(nonce));
 * - the code measurement is the mock quote's `measurement` (for real TEEs the
 *   image measurement — PCRs, MRTD/RTMRs — pinned by policy).
 *
 * A quote whose nonce does not start with the acting agent's address is not
 * the agent's: another agent cannot present it as its own.
 *
 * @module
 */
import { ChaosCoreError } from "../errors.js";
import { sha256 } from "../hash.js";
import { type Address, bytesToHex, concatBytes, type Hex, hexToBytes, isHex } from "../hex.js";

/** Bytes of the agent address at the start of a bound nonce. */
export const NONCE_AGENT_BYTES = 20;
/** Least salt after the address (so that nonces do not repeat). */
export const NONCE_MIN_SALT_BYTES = 12;
/** Longest nonce (the mock quote's limit). */
export const NONCE_MAX_BYTES = 64;

const addressBytes = (agent: Address): Uint8Array => {
  const lower = agent.toLowerCase();
  if (!isHex(lower, NONCE_AGENT_BYTES)) {
    throw new ChaosCoreError("INVALID_INPUT", "the agent is not a 20-byte address", {
      details: { agent: String(agent).slice(0, 64) },
    });
  }
  return hexToBytes(lower);
};

/**
 * A fresh nonce bound to `agent`: its address ‖ `salt` (default 32 random bytes).
 *
 * @throws ChaosCoreError INVALID_INPUT when `agent` is not an address or the salt is 12–44 bytes long.
 * @example const nonce = agentBoundNonce(agent.address);
 */
export function agentBoundNonce(agent: Address, salt?: Uint8Array): Hex {
  const s = salt ?? globalThis.crypto.getRandomValues(new Uint8Array(32));
  if (s.length < NONCE_MIN_SALT_BYTES || s.length > NONCE_MAX_BYTES - NONCE_AGENT_BYTES) {
    throw new ChaosCoreError("INVALID_INPUT", "the nonce salt must be 12 to 44 bytes");
  }
  return bytesToHex(concatBytes(addressBytes(agent), s));
}

/** True when `nonce` (lowercase hex) is `agent`'s address followed by 12–44 bytes of salt. */
export function isAgentBoundNonce(nonce: unknown, agent: Address): boolean {
  if (typeof nonce !== "string" || !isHex(nonce)) return false;
  const bytes = (nonce.length - 2) / 2;
  return (
    bytes >= NONCE_AGENT_BYTES + NONCE_MIN_SALT_BYTES &&
    bytes <= NONCE_MAX_BYTES &&
    nonce.slice(2, 2 + 2 * NONCE_AGENT_BYTES) === agent.toLowerCase().slice(2)
  );
}

/**
 * Requires `nonce` to bind `agent`.
 *
 * @throws ChaosCoreError ATTESTATION_AGENT_MISMATCH when it does not.
 */
export function assertAgentBoundNonce(nonce: unknown, agent: Address): void {
  if (!isAgentBoundNonce(nonce, agent)) {
    throw new ChaosCoreError(
      "ATTESTATION_AGENT_MISMATCH",
      "the attestation's nonce does not start with the acting agent's address: it was made for another agent or run",
      { details: { agent } },
    );
  }
}

/** TDX REPORTDATA (64 bytes) for a run: reportData ‖ SHA-256(nonce). */
export function tdxReportData(reportData: Hex, nonce: Hex): Hex {
  return bytesToHex(concatBytes(hexToBytes(reportData, 32), sha256(hexToBytes(nonce))));
}
