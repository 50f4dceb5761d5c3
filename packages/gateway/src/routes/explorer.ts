/**
 * The explorer: a small single-page app (vanilla TypeScript, no framework)
 * over the public API, served from this origin under the gateway's CSP.
 * Sources are in `packages/gateway/explorer/`; `/explorer/app.js` is bundled
 * with esbuild on first request and kept in memory. It includes
 * @chaoscore/core's `verifyReceipt`, so receipts are verified in the browser.
 *
 * Two of core's dependencies cannot run under `script-src 'self'` (no eval,
 * no WebAssembly compilation): hash-wasm is swapped for @noble/hashes by
 * core's own package.json `browser` field (as in any user's browser bundle),
 * and TypeBox's TypeCompiler (`new Function`) for `Value.Check` here; Node's
 * `Buffer` → a small codec shim. The explorer's browser
 * test runs the committed receipt vectors through the bundled verifier.
 * @module
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ChaosCoreError } from "@chaoscore/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { GatewayApp, GatewayContext } from "../app.js";

/** Where the explorer's sources are (packages/gateway/explorer). */
export const EXPLORER_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "explorer");

type Asset = { body: string; etag: string; type: string };

const asset = (body: string, type: string): Asset => ({
  body,
  type,
  etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`,
});

/**
 * Bundles the explorer's script (browser ESM, minified) in memory.
 * @throws ChaosCoreError GATEWAY_FEATURE_DISABLED when esbuild is not installed.
 */
export async function bundleExplorer(options: { minify?: boolean } = {}): Promise<string> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (cause) {
    throw new ChaosCoreError(
      "GATEWAY_FEATURE_DISABLED",
      "the explorer is bundled with esbuild, which is not installed",
      { details: { feature: "explorer" }, cause },
    );
  }
  const shim = (name: string) => join(EXPLORER_DIR, "shims", name);
  // hash-wasm is replaced by @chaoscore/core's own "browser" field (pure JavaScript hashes).
  const replaced: Record<string, string> = {
    "@sinclair/typebox/compiler": shim("typebox-compiler.ts"),
  };
  const result = await esbuild.build({
    entryPoints: [join(EXPLORER_DIR, "src", "main.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: options.minify ?? true,
    legalComments: "none",
    logLevel: "silent",
    inject: [shim("buffer.ts")],
    plugins: [
      {
        name: "chaoscore-browser-shims",
        setup(build) {
          build.onResolve({ filter: /^@sinclair\/typebox\/compiler$/ }, (args) => ({
            path: replaced[args.path] as string,
          }));
        },
      },
    ],
  });
  const file = result.outputFiles[0];
  if (file === undefined) throw new Error("esbuild produced no output");
  return file.text;
}

let script: Promise<Asset> | undefined;
let page: Promise<Asset> | undefined;
let style: Promise<Asset> | undefined;

/** Loads once per process; a failure is not cached (the next request retries). */
function once(
  get: () => Promise<Asset> | undefined,
  set: (p: Promise<Asset> | undefined) => void,
  load: () => Promise<Asset>,
): Promise<Asset> {
  let p = get();
  if (p === undefined) {
    p = load();
    set(p);
    p.catch(() => set(undefined));
  }
  return p;
}

const loadScript = () =>
  once(
    () => script,
    (p) => {
      script = p;
    },
    async () => asset(await bundleExplorer(), "text/javascript; charset=utf-8"),
  );
const loadPage = () =>
  once(
    () => page,
    (p) => {
      page = p;
    },
    async () =>
      asset(await readFile(join(EXPLORER_DIR, "index.html"), "utf8"), "text/html; charset=utf-8"),
  );
const loadStyle = () =>
  once(
    () => style,
    (p) => {
      style = p;
    },
    async () =>
      asset(await readFile(join(EXPLORER_DIR, "app.css"), "utf8"), "text/css; charset=utf-8"),
  );

/**
 * The gateway's CSP without `upgrade-insecure-requests`: over plain HTTP on a
 * host other than localhost (a staging box), that directive makes browsers
 * fetch /explorer/app.js over HTTPS, which fails. Every explorer URL is
 * same-origin and relative, so the directive protects nothing here.
 */
function withoutUpgrade(reply: FastifyReply): void {
  const csp = reply.getHeader("content-security-policy");
  if (typeof csp !== "string") return;
  const kept = csp
    .split(";")
    .filter((d) => d.trim().toLowerCase() !== "upgrade-insecure-requests")
    .join(";");
  reply.header("content-security-policy", kept);
}

async function send(request: FastifyRequest, reply: FastifyReply, load: () => Promise<Asset>) {
  const a = await load();
  withoutUpgrade(reply);
  reply.header("cache-control", "no-cache").header("etag", a.etag).type(a.type);
  if (request.headers["if-none-match"] === a.etag) return reply.code(304).send();
  return reply.send(a.body);
}

/**
 * The explorer's pages: GET /explorer and every /explorer/… page path answer
 * the app's HTML (the app routes in the browser); /explorer/app.js and
 * /explorer/app.css are its script and style. Hidden from the OpenAPI
 * document (they are not API).
 */
export function explorerRoutes(app: GatewayApp, _ctx: GatewayContext): void {
  const hide = { schema: { hide: true } };
  app.get("/explorer", hide, (request, reply) => send(request, reply, loadPage));
  app.get("/explorer/app.js", hide, (request, reply) => send(request, reply, loadScript));
  app.get("/explorer/app.css", hide, (request, reply) => send(request, reply, loadStyle));
  app.get("/explorer/*", hide, (request, reply) => {
    const rest = (request.params as { "*"?: string })["*"] ?? "";
    // A missing asset (a top-level file name) is a 404, not the app.
    if (/^[^/]+\.(?:js|mjs|css|map|json|png|svg|ico|txt|html)$/i.test(rest)) {
      throw new ChaosCoreError("GATEWAY_ROUTE_NOT_FOUND", `no explorer asset /explorer/${rest}`);
    }
    return send(request, reply, loadPage);
  });
}
