/**
 * The witness's HTTP server (node:http): `POST /add-checkpoint` as C2SP
 * tlog-witness specifies it, and `GET /` with the witness's verifier key.
 * @module
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { MAX_REQUEST_SIZE } from "@chaoscore/core";
import { type AddCheckpointContext, SHARD_CERTIFICATE_HEADER, type Witness } from "./witness.js";

/** A running witness server. */
export type WitnessServer = {
  /** `http://host:port` it listens on. */
  readonly url: string;
  readonly server: Server;
  /** Stops accepting requests and closes open connections. */
  close(): Promise<void>;
};

function readBody(request: IncomingMessage): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_SIZE) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on("end", () => resolve(tooLarge ? undefined : Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

/** The request's shard certificate header, decoded; undefined when it is malformed. */
function shardCertificateOf(request: IncomingMessage): AddCheckpointContext | undefined {
  const value = request.headers[SHARD_CERTIFICATE_HEADER.toLowerCase()];
  if (value === undefined) return {};
  if (typeof value !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  const bytes = Buffer.from(value, "base64");
  if (bytes.toString("base64") !== value) return undefined;
  try {
    return { shardCertificate: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return undefined;
  }
}

/**
 * Serves `witness` on `host:port` (port 0 picks a free one).
 * @example
 * ```ts
 * const { url } = await serveWitness(witness, { host: "127.0.0.1", port: 0 });
 * ```
 */
export async function serveWitness(
  witness: Witness,
  options: { host?: string; port?: number; onError?: (error: unknown) => void } = {},
): Promise<WitnessServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, {
        "content-type": type,
        "content-length": Buffer.byteLength(body),
      });
      response.end(body);
    };
    if (path === "/add-checkpoint") {
      if (request.method !== "POST") {
        response.setHeader("allow", "POST");
        send(405, "text/plain; charset=utf-8", "add-checkpoint takes POST\n");
        return;
      }
      readBody(request)
        .then(async (body) => {
          if (body === undefined) {
            send(
              400,
              "text/plain; charset=utf-8",
              "WITNESS_REQUEST_MALFORMED: the request body is too large\n",
            );
            return;
          }
          const context = shardCertificateOf(request);
          if (context === undefined) {
            send(
              400,
              "text/plain; charset=utf-8",
              `WITNESS_REQUEST_MALFORMED: ${SHARD_CERTIFICATE_HEADER} is not base64 of a UTF-8 note\n`,
            );
            return;
          }
          const answer = await witness.addCheckpoint(body, context);
          if (answer.status === 500) options.onError?.(answer.body);
          send(answer.status, answer.contentType, answer.body);
        })
        .catch((error: unknown) => {
          options.onError?.(error);
          if (!response.headersSent) send(500, "text/plain; charset=utf-8", "internal error\n");
        });
      return;
    }
    if (path === "/" && (request.method === "GET" || request.method === "HEAD")) {
      send(200, "text/plain; charset=utf-8", `${witness.verifierKey}\n`);
      return;
    }
    send(404, "text/plain; charset=utf-8", "not found\n");
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
