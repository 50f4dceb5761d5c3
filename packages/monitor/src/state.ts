/**
 * What a monitor remembers between passes: the last checkpoint it verified
 * and the frontier of that tree (so that new entries extend it without
 * refetching the log), and how far it checked each trusted anchor contract.
 * Kept in one JSON file, written atomically (temporary file, fsync, rename),
 * so that a monitor killed at any moment resumes from the last whole state.
 * @module
 */
import { open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import {
  base64ToBytes,
  bytesToBase64,
  ChaosCoreError,
  CompactRange,
  compileParser,
  parseVerifierKey,
} from "@chaoscore/core";
import { Type } from "@sinclair/typebox";

export const MONITOR_STATE_FORMAT = "chaoscore.monitor-state/v1";

const B64Hash = Type.String({ pattern: "^[A-Za-z0-9+/]{43}=$" });
const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

const MonitorStateSchema = Type.Object(
  {
    format: Type.Literal(MONITOR_STATE_FORMAT),
    logKey: Type.String({ minLength: 1, maxLength: 1024 }),
    checkpoint: Type.Object(
      { size: Count, rootHash: B64Hash, note: Type.String({ maxLength: 65536 }) },
      { additionalProperties: false },
    ),
    frontier: Type.Array(
      Type.Object(
        { level: Type.Integer({ minimum: 0, maximum: 63 }), index: Count, hash: B64Hash },
        { additionalProperties: false },
      ),
      { maxItems: 64 },
    ),
    /** Per trusted contract (`<chainId>/<contract>`): how many anchors were checked. */
    anchors: Type.Record(Type.String({ maxLength: 128 }), Count),
    updatedAt: Type.String({ maxLength: 64 }),
  },
  { additionalProperties: false },
);

/** The monitor's state file (`chaoscore.monitor-state/v1`). */
export type MonitorState = {
  format: typeof MONITOR_STATE_FORMAT;
  /** The log key the state was verified under. */
  logKey: string;
  /** The last checkpoint verified: size, base64 root and the signed note as served. */
  checkpoint: { size: number; rootHash: string; note: string };
  /** The frontier (complete subtrees, largest first) of the tree of `checkpoint.size`. */
  frontier: { level: number; index: number; hash: string }[];
  anchors: Record<string, number>;
  updatedAt: string;
};

const parseShape = compileParser(MonitorStateSchema, "MONITOR_STATE_INVALID", "monitor state");

/**
 * Parses a monitor state and checks that its frontier rebuilds its root.
 * @throws ChaosCoreError MONITOR_STATE_INVALID when it does not.
 */
export function parseMonitorState(value: unknown): MonitorState {
  const state = parseShape(value) as MonitorState;
  try {
    parseVerifierKey(state.logKey);
    const range = frontierRange(state);
    if (bytesToBase64(range.root()) !== state.checkpoint.rootHash) {
      throw new ChaosCoreError("MONITOR_STATE_INVALID", "the frontier does not rebuild the root");
    }
  } catch (cause) {
    throw new ChaosCoreError(
      "MONITOR_STATE_INVALID",
      `the monitor state is inconsistent: ${(cause as Error).message}`,
      { cause },
    );
  }
  return state;
}

/** The compact range of the state's tree. */
export function frontierRange(state: MonitorState | null): CompactRange {
  if (state === null) return new CompactRange();
  const byNode = new Map(state.frontier.map((n) => [`${n.level}/${n.index}`, n.hash]));
  return CompactRange.fromNodes(state.checkpoint.size, (level, index) => {
    const hash = byNode.get(`${level}/${index}`);
    return hash === undefined ? undefined : base64ToBytes(hash);
  });
}

/**
 * The JSON value of a state file; null when it does not exist yet.
 * @throws ChaosCoreError MONITOR_STATE_INVALID when it cannot be read or is not JSON.
 */
export async function readStateJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new ChaosCoreError("MONITOR_STATE_INVALID", `cannot read the monitor state ${path}`, {
      cause: error,
    });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ChaosCoreError("MONITOR_STATE_INVALID", `the monitor state ${path} is not JSON`, {
      cause,
    });
  }
}

/**
 * Reads the state file; null when it does not exist yet.
 * @throws ChaosCoreError MONITOR_STATE_INVALID when it exists and is not a valid state.
 */
export async function readMonitorState(path: string): Promise<MonitorState | null> {
  const value = await readStateJson(path);
  return value === null ? null : parseMonitorState(value);
}

/**
 * Writes the state atomically: a temporary file beside it, fsync, rename,
 * fsync of the directory. A crash leaves the old state or the new one.
 */
export async function writeMonitorState(path: string, state: object): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const file = await open(tmp, "w", 0o644);
  try {
    await file.writeFile(`${JSON.stringify(state, null, 2)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => {});
    throw error;
  }
  const dir = await open(dirname(path), "r").catch(() => null);
  if (dir !== null) {
    await dir.sync().catch(() => {});
    await dir.close();
  }
}
