import {
  type ActionEntry,
  ChaosCoreError,
  canonicalJsonBytes,
  type Hex,
  parseEntry,
  sha256Hex,
} from "@chaoscore/core";

/**
 * The signed action entry of a studio step (a task transition or a
 * governance step).
 * @throws ChaosCoreError STUDIO_ENTRY_INVALID when it is not a well-formed signed action entry.
 */
export function parseStudioAction(entry: unknown): ActionEntry {
  try {
    const parsed = parseEntry(entry);
    if (parsed.kind !== "action") throw new Error("not an action");
    return parsed;
  } catch (error) {
    throw new ChaosCoreError("STUDIO_ENTRY_INVALID", "the entry is not a signed action entry", {
      cause: error,
    });
  }
}

/**
 * Checks that a studio step's payload is JSON and hashes to the signed
 * `payloadHash` — before anything is written, so a mismatch is a studio error.
 * @throws ChaosCoreError STUDIO_ENTRY_INVALID.
 */
export function assertStudioPayload(payload: unknown, payloadHash: Hex): void {
  let hash: Hex;
  try {
    hash = sha256Hex(canonicalJsonBytes(payload));
  } catch (error) {
    throw new ChaosCoreError("STUDIO_ENTRY_INVALID", "the payload is not JSON", { cause: error });
  }
  if (hash !== payloadHash) {
    throw new ChaosCoreError(
      "STUDIO_ENTRY_INVALID",
      "the payload does not hash to the signed payloadHash",
    );
  }
}
