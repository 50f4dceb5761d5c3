/**
 * A log server that tests control: it serves the tlog-tiles read API (and the
 * two `/v1/` routes the monitor reads) over a real loopback port, for a list
 * of entries the test can extend, fork, roll back or tamper with.
 * @module
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  consistencyProofPlan,
  encodeEntry,
  generateNoteKey,
  type LogEntry,
  leafHash,
  resolveProof,
  rootFromLeafHashes,
  signAction,
  signCheckpoint,
  TRUST_POLICY_FORMAT,
} from "@chaoscore/core";

export const FAKE_ORIGIN = "fake.chaoscore.test/log";
export const FAKE_LOG_KEY = generateNoteKey(FAKE_ORIGIN, new Uint8Array(32).fill(42));

/**
 * A trust policy (chaoscore.trust-policy/v1) that trusts the fake log's key,
 * with `extra` members (witnesses, anchors).
 */
export function fakeLogPolicy<T extends object = Record<never, never>>(extra?: T) {
  return {
    format: TRUST_POLICY_FORMAT,
    log: { key: FAKE_LOG_KEY.verifierKey },
    ...(extra ?? ({} as T)),
  };
}

/** A signed action entry of agent key `agentByte` (fixed keys: reproducible). */
export function makeEntry(i: number, agentByte = 0x11): LogEntry {
  return signAction({
    privateKey: new Uint8Array(32).fill(agentByte),
    chainId: 31337n,
    actionType: "test.step",
    nonce: i + 1,
    payload: { step: i },
    timestamp: 1_800_000_000,
    ttlSeconds: 3600,
  }).entry;
}

/** Encoded entries 0..n-1 (or from `start`). */
export function makeEntries(n: number, start = 0, agentByte = 0x11): Uint8Array[] {
  return Array.from({ length: n }, (_, k) => encodeEntry(makeEntry(start + k, agentByte)));
}

/** What the fake log serves; tests change these fields between passes. */
export type FakeLogState = {
  entries: Uint8Array[];
  /** The size the checkpoint claims (default: all entries). */
  checkpointSize?: number;
  /** Rewrites a tile or bundle body before it is sent (tampering). */
  tamper?: (path: string, body: Buffer) => Buffer;
  /** Extra signature lines appended to the checkpoint note (cosignatures). */
  cosign?: (note: string) => string;
  /** Answers every request with this status (an outage). */
  down?: number;
  /** Paths answered 404 although the checkpoint covers them (withheld entries or tiles). */
  withhold?: (path: string) => boolean;
  /** Registry key histories: agent → signer addresses. */
  keys?: Record<string, string[]>;
};

const TILE = 256;

function parseIndex(path: string): { index: number; width: number } | null {
  const m = /^((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([0-9]{1,3}))?$/.exec(path);
  if (m === null) return null;
  const index = Number(`${(m[1] ?? "").replaceAll("x", "").replaceAll("/", "")}${m[2]}`);
  return { index, width: m[3] === undefined ? TILE : Number(m[3]) };
}

/** The tree of encoded entries: its root at a size, and consistency proofs. */
export function treeOf(entries: readonly Uint8Array[]) {
  const leaves = entries.map((e) => leafHash(e));
  const node = (level: number, index: number) =>
    rootFromLeafHashes(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level));
  return {
    root: (size: number) => rootFromLeafHashes(leaves.slice(0, size)),
    consistency: (from: number, to: number) => resolveProof(consistencyProofPlan(from, to), node),
  };
}

/** The note of the state's checkpoint (signed by FAKE_LOG_KEY). */
export function fakeCheckpoint(state: FakeLogState): string {
  const size = state.checkpointSize ?? state.entries.length;
  const leaves = state.entries.slice(0, size).map((e) => leafHash(e));
  const note = signCheckpoint(
    { origin: FAKE_ORIGIN, size, rootHash: rootFromLeafHashes(leaves), extensions: [] },
    FAKE_LOG_KEY.signerKey,
  );
  return state.cosign ? state.cosign(note) : note;
}

/** Starts the fake log on a free loopback port. */
export async function startFakeLog(
  state: FakeLogState,
): Promise<{ url: string; state: FakeLogState; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const send = (status: number, body: Buffer | string, type = "application/octet-stream") => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (state.down !== undefined) return send(state.down, "down", "text/plain");
    if (state.withhold?.(url.pathname)) return send(404, "not found", "text/plain");
    const size = state.checkpointSize ?? state.entries.length;
    const leaves = state.entries.slice(0, size).map((e) => leafHash(e));
    const node = (level: number, index: number) =>
      rootFromLeafHashes(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level));
    const path = url.pathname;
    if (path === "/log/checkpoint") return send(200, fakeCheckpoint(state), "text/plain");
    if (path.startsWith("/log/tile/")) {
      const rest = path.slice("/log/tile/".length);
      const slash = rest.indexOf("/");
      const head = rest.slice(0, slash);
      const at = parseIndex(rest.slice(slash + 1));
      if (at === null) return send(400, "bad tile path", "text/plain");
      const start = at.index * TILE;
      let body: Buffer;
      if (head === "entries") {
        if (start + at.width > size) return send(404, "no such bundle", "text/plain");
        const parts: Buffer[] = [];
        for (const e of state.entries.slice(start, start + at.width)) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(e.length);
          parts.push(len, Buffer.from(e));
        }
        body = Buffer.concat(parts);
      } else {
        const level = Number(head);
        const per = 2 ** (8 * level);
        if ((start + at.width) * per > size) return send(404, "no such tile", "text/plain");
        const hashes: Buffer[] = [];
        for (let i = start; i < start + at.width; i++) hashes.push(Buffer.from(node(8 * level, i)));
        body = Buffer.concat(hashes);
      }
      return send(200, state.tamper ? state.tamper(path, body) : body);
    }
    if (path === "/v1/log/proofs/consistency") {
      const from = Number(url.searchParams.get("from"));
      const to = Number(url.searchParams.get("to"));
      if (!(from >= 1 && from <= to && to <= size)) return send(400, "{}", "application/json");
      const proof = resolveProof(consistencyProofPlan(from, to), node);
      return send(
        200,
        JSON.stringify({ from, to, hashes: proof.map((h) => Buffer.from(h).toString("base64")) }),
        "application/json",
      );
    }
    const agent = /^\/v1\/agents\/(0x[0-9a-f]{40})\/history$/.exec(path)?.[1];
    if (agent !== undefined) {
      const keys = state.keys?.[agent];
      if (keys === undefined) return send(404, "{}", "application/json");
      return send(
        200,
        JSON.stringify({ cards: [], keys: keys.map((signer) => ({ signer })), status: [] }),
        "application/json",
      );
    }
    return send(404, "not found", "text/plain");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
