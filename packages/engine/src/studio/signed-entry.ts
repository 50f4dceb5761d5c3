import { type ActionEntry, ChaosCoreError, parseEntry } from "@chaoscore/core";

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
