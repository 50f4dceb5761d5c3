/**
 * The body of a C2SP tlog-witness `add-checkpoint` request
 * (https://c2sp.org/tlog-witness): an `old <size>` line, up to 63 base64
 * consistency-proof lines, an empty line, then the signed checkpoint note.
 *
 * ```
 * old 20852014
 * PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
 *
 * example.com/behind-the-sofa
 * 20852163
 * CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
 *
 * — example.com/behind-the-sofa Az3grlgtzPICa5…
 * ```
 *
 * See docs/spec/witness.md.
 * @module
 */
import { ChaosCoreError } from "./errors.js";
import { base64ToBytes, bytesToBase64 } from "./hex.js";
import { MAX_NOTE_SIZE } from "./note.js";

/** Most consistency-proof lines a request may carry (the spec's limit). */
export const MAX_PROOF_LINES = 63;
/** Largest request body accepted, in bytes: a note plus 64 short lines. */
export const MAX_REQUEST_SIZE = MAX_NOTE_SIZE + 8 * 1024;

/** A parsed add-checkpoint request. */
export type AddCheckpointRequest = {
  /** The size of the checkpoint the client believes the witness holds (0: none). */
  readonly oldSize: number;
  /** The RFC 9162 consistency proof from `oldSize` to the checkpoint's size. */
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint note, as sent. */
  readonly checkpoint: string;
};

const SIZE_RE = /^(?:0|[1-9][0-9]{0,15})$/;

function malformed(message: string): ChaosCoreError {
  return new ChaosCoreError("WITNESS_REQUEST_MALFORMED", message);
}

/**
 * Parses an add-checkpoint request body (UTF-8 text or bytes). Only the
 * framing is checked here; the witness checks the note, its signature and the proof.
 * @throws ChaosCoreError WITNESS_REQUEST_MALFORMED when the body is not UTF-8,
 * too large, has no `old <size>` line (decimal, no leading zeros, at most
 * 2^53 − 1), a proof line that is not base64 of 32 bytes, more than 63 proof
 * lines, or no empty line before the checkpoint.
 * @example
 * ```ts
 * const { oldSize, proof, checkpoint } = parseAddCheckpointRequest(body);
 * ```
 */
export function parseAddCheckpointRequest(body: string | Uint8Array): AddCheckpointRequest {
  let text: string;
  if (typeof body === "string") {
    text = body;
  } else if (body instanceof Uint8Array) {
    if (body.length > MAX_REQUEST_SIZE) throw malformed("the request body is too large");
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(body);
    } catch {
      throw malformed("the request body is not UTF-8");
    }
  } else {
    throw malformed("the request body is text");
  }
  if (Buffer.byteLength(text, "utf8") > MAX_REQUEST_SIZE) {
    throw malformed("the request body is too large");
  }
  const blank = text.indexOf("\n\n");
  if (blank < 0) throw malformed("no empty line separates the proof from the checkpoint");
  const head = text.slice(0, blank).split("\n");
  const checkpoint = text.slice(blank + 2);
  const first = head[0] ?? "";
  if (!first.startsWith("old ")) throw malformed("the body starts with an `old <size>` line");
  const sizeText = first.slice(4);
  if (!SIZE_RE.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    throw malformed("the old size is decimal with no leading zeros, at most 2^53 − 1");
  }
  const lines = head.slice(1);
  if (lines.length > MAX_PROOF_LINES) {
    throw malformed(`a request carries at most ${MAX_PROOF_LINES} proof lines`);
  }
  const proof = lines.map((line) => {
    let hash: Uint8Array;
    try {
      hash = base64ToBytes(line);
    } catch {
      throw malformed("a proof line is base64 of a 32-byte hash");
    }
    if (hash.length !== 32) throw malformed("a proof line is base64 of a 32-byte hash");
    return hash;
  });
  if (checkpoint.length === 0) throw malformed("the request carries no checkpoint");
  return { oldSize: Number(sizeText), proof, checkpoint };
}

/**
 * Formats an add-checkpoint request body.
 * @example
 * ```ts
 * await fetch(`${witness}/add-checkpoint`, { method: "POST", body: formatAddCheckpointRequest(n, proof, note) });
 * ```
 */
export function formatAddCheckpointRequest(
  oldSize: number,
  proof: readonly Uint8Array[],
  checkpoint: string,
): string {
  return `old ${oldSize}\n${proof.map((h) => `${bytesToBase64(h)}\n`).join("")}\n${checkpoint}`;
}

/** The media type of a witness's 409 answer: its tree size, in decimal, and a newline. */
export const TLOG_SIZE_MEDIA_TYPE = "text/x.tlog.size";

/**
 * Parses the body of a witness's 409 answer (`text/x.tlog.size`): the size of
 * the checkpoint it holds, or undefined when the body is not such a size.
 * @example
 * ```ts
 * parseTlogSize("1234\n"); // 1234
 * ```
 */
export function parseTlogSize(body: string): number | undefined {
  const m = /^(0|[1-9][0-9]{0,15})\n?$/.exec(body);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}
