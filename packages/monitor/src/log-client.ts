/**
 * A reader of a log's public read API: the C2SP tlog-tiles paths
 * (`/log/checkpoint`, `/log/tile/<L>/<N>[.p/<W>]`, `/log/tile/entries/<N>[.p/<W>]`)
 * and the consistency proofs and agent key histories of `/v1/`. It trusts
 * nothing it reads: the monitor checks every byte.
 * @module
 */
import { base64ToBytes } from "@chaoscore/core";

/** Hashes (or entries) per full tile: tile height 8. */
export const TILE_WIDTH = 256;

/** Why a read failed: the server could not be reached, or answered with garbage. */
export class LogReadError extends Error {
  override readonly name = "LogReadError";
  constructor(
    message: string,
    readonly kind: "unreachable" | "malformed",
    readonly path: string,
  ) {
    super(message);
  }
}

/** Encodes a tile index as tlog-tiles does: `x001/x234/067`. */
export function tileIndexPath(index: number): string {
  const s = String(index).padStart(3, "0");
  const padded = s.padStart(Math.ceil(s.length / 3) * 3, "0");
  const groups = padded.match(/.{3}/g) as string[];
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
}

/** `<N>` or `<N>.p/<W>` for a tile of `width` hashes. */
export function tilePath(index: number, width: number): string {
  return width === TILE_WIDTH ? tileIndexPath(index) : `${tileIndexPath(index)}.p/${width}`;
}

/** Splits an entry bundle (uint16 big-endian length, then the bytes, repeated). */
export function parseEntryBundle(bytes: Uint8Array, expected: number): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) return null;
    const length = ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
    at += 2;
    if (at + length > bytes.length) return null;
    out.push(bytes.subarray(at, at + length));
    at += length;
  }
  return out.length === expected ? out : null;
}

/** Options of {@link LogClient}. */
export type LogClientOptions = {
  /** Milliseconds before a request is abandoned (default 10 s). */
  readonly timeoutMs?: number;
  /** Bytes above which an answer is refused (default 16 MiB). */
  readonly maxBytes?: number;
  /**
   * One shard of a log family (its id in `GET /v1/logs`): read its checkpoint
   * and tiles under `/v1/logs/<id>/` and its proofs with `?log=<id>`, instead
   * of the paths that follow the active shard.
   */
  readonly log?: string;
};

/** Reads a log's public API at `baseUrl` (the gateway's URL). */
export class LogClient {
  readonly #base: URL;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  /** Where the checkpoint and tiles are: `log/`, or a shard's `v1/logs/<id>/`. */
  readonly #tiles: string;
  /** The query that names the shard on `/v1/log/` routes ("" for the active shard). */
  readonly #logQuery: string;

  constructor(baseUrl: string, options: LogClientOptions = {}) {
    this.#base = new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    const log = options.log === undefined ? undefined : encodeURIComponent(options.log);
    this.#tiles = log === undefined ? "log/" : `v1/logs/${log}/`;
    this.#logQuery = log === undefined ? "" : `&log=${log}`;
  }

  /** The URL the client reads. */
  get url(): string {
    return this.#base.toString();
  }

  async #get(path: string): Promise<Uint8Array> {
    const url = new URL(path, this.#base);
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (error) {
      throw new LogReadError(
        `GET ${path}: ${(error as Error).message}${(error as { cause?: Error }).cause ? ` (${(error as { cause: Error }).cause.message})` : ""}`,
        "unreachable",
        path,
      );
    }
    let body: Uint8Array;
    try {
      body = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      throw new LogReadError(`GET ${path}: ${(error as Error).message}`, "unreachable", path);
    }
    if (response.status >= 500 || response.status === 429) {
      throw new LogReadError(`GET ${path}: HTTP ${response.status}`, "unreachable", path);
    }
    if (response.status !== 200) {
      throw new LogReadError(`GET ${path}: HTTP ${response.status}`, "malformed", path);
    }
    if (body.length > this.#maxBytes) {
      throw new LogReadError(`GET ${path}: answer over ${this.#maxBytes} bytes`, "malformed", path);
    }
    return body;
  }

  /** The latest checkpoint as served (a signed note, not yet verified). */
  async checkpoint(): Promise<string> {
    const path = `${this.#tiles}checkpoint`;
    const bytes = await this.#get(path);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new LogReadError("the checkpoint is not UTF-8", "malformed", path);
    }
  }

  /** The hashes of tile (level, index) of `width` hashes. */
  async tile(level: number, index: number, width: number): Promise<Uint8Array[]> {
    const path = `${this.#tiles}tile/${level}/${tilePath(index, width)}`;
    const bytes = await this.#get(path);
    if (bytes.length !== 32 * width) {
      throw new LogReadError(
        `${path} holds ${bytes.length} bytes, not ${32 * width}`,
        "malformed",
        path,
      );
    }
    const out: Uint8Array[] = [];
    for (let i = 0; i < width; i++) out.push(bytes.slice(32 * i, 32 * i + 32));
    return out;
  }

  /** The entries of entry bundle `index` of `width` entries. */
  async entries(index: number, width: number): Promise<Uint8Array[]> {
    const path = `${this.#tiles}tile/entries/${tilePath(index, width)}`;
    const entries = parseEntryBundle(await this.#get(path), width);
    if (entries === null) {
      throw new LogReadError(`${path} is not a bundle of ${width} entries`, "malformed", path);
    }
    return entries;
  }

  async #json(path: string): Promise<unknown> {
    const bytes = await this.#get(path);
    try {
      return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch {
      throw new LogReadError(`${path} is not JSON`, "malformed", path);
    }
  }

  /** The consistency proof from size `from` to size `to` (not yet verified). */
  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    const path = `v1/log/proofs/consistency?from=${from}&to=${to}${this.#logQuery}`;
    const body = (await this.#json(path)) as { hashes?: unknown };
    if (!Array.isArray(body?.hashes) || body.hashes.length > 128) {
      throw new LogReadError(`${path} has no list of hashes`, "malformed", path);
    }
    try {
      return body.hashes.map((h) => base64ToBytes(h));
    } catch {
      throw new LogReadError(`${path} holds a hash that is not base64`, "malformed", path);
    }
  }

  /** `GET /v1/logs`: the shards of the log family, as served (not yet checked). */
  async logs(): Promise<unknown> {
    return this.#json("v1/logs");
  }

  /** Every signing key the log's registry knows for an agent (lowercase addresses). */
  async agentKeys(agent: string): Promise<string[]> {
    const path = `v1/agents/${agent}/history`;
    const body = (await this.#json(path)) as { keys?: unknown };
    if (!Array.isArray(body?.keys)) {
      throw new LogReadError(`${path} has no list of keys`, "malformed", path);
    }
    return body.keys
      .map((k) => (k as { signer?: unknown })?.signer)
      .filter((s): s is string => typeof s === "string")
      .map((s) => s.toLowerCase());
  }
}
