import { ChaosCoreError } from "@chaoscore/core";

/** What an adapter entry point needs installed beside it. */
export type Peer = { entry: string; peer: string; range: string };

/** True when `error` is Node's "cannot find package `peer`" (ESM or CommonJS resolution). */
export function isMissingPackage(error: unknown, peer: string): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (e === null || typeof e !== "object") return false;
  if (e.code !== "ERR_MODULE_NOT_FOUND" && e.code !== "MODULE_NOT_FOUND") return false;
  const message = String(e.message);
  return (
    message.includes(`'${peer}'`) || message.includes(`'${peer}/`) || message.includes(`"${peer}"`)
  );
}

/**
 * Loads an adapter whose framework is a peer dependency. When the peer is not
 * installed, fails with `SDK_PEER_MISSING` naming the package and the command
 * that installs it, instead of a resolution error from deep inside the SDK.
 * @throws ChaosCoreError SDK_PEER_MISSING.
 */
export async function loadWithPeer<T>(load: () => Promise<T>, need: Peer): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!isMissingPackage(error, need.peer)) throw error;
    throw new ChaosCoreError(
      "SDK_PEER_MISSING",
      `${need.entry} needs the package ${need.peer} (${need.range}), which is not installed: npm install ${need.peer}@"${need.range}"`,
      { details: { entry: need.entry, peer: need.peer, range: need.range }, cause: error },
    );
  }
}
