/**
 * A gateway over a test engine, in-process (`@chaoscore/testkit/gateway`).
 * @module
 */
import { Writable } from "node:stream";
import { type Hex, signRequest } from "@chaoscore/core";
import {
  ApiKeyStore,
  buildGateway,
  DEFAULT_ORIGIN,
  type GatewayApp,
  type GatewayOptions,
  gatewayServices,
} from "@chaoscore/gateway";
import { MockTeeProvider } from "@chaoscore/sandbox";
import pino from "pino";
import { CHAIN_ID, openTestEngine, snapshot } from "./engine.js";

export { CHAIN_ID };

/**
 * A gateway over a fresh test engine (PGlite, or DATABASE_URL; `engineOptions`,
 * e.g. `shards`, go to the engine), with an admin key, a captured log, and
 * helpers for signed requests and row counts.
 */
export async function openTestGateway(
  options: Partial<GatewayOptions> = {},
  engineOptions: Parameters<typeof openTestEngine>[0] = {},
) {
  const h = await openTestEngine(engineOptions);
  const tee = MockTeeProvider.create();
  const logLines: string[] = [];
  const logger = pino(
    { level: "info", redact: ["req.headers.authorization", "req.headers['chaoscore-signature']"] },
    new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  );
  const app: GatewayApp = await buildGateway({
    ...gatewayServices({ engine: h.engine, chainId: CHAIN_ID, tee }),
    logger,
    ...options,
  });
  await app.ready();
  const keys = new ApiKeyStore(h.engine.db);
  const admin = (await keys.create({ scopes: ["admin"], label: "test admin" })).key;

  /** Every table's row count (what a rejected request must leave unchanged). */
  async function rows(): Promise<Record<string, number>> {
    const tables = await h.engine.db.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables
       WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
    );
    const out: Record<string, number> = {};
    for (const { name } of tables) {
      const [r] = await h.engine.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${name}`);
      out[name] = Number(r?.n ?? 0);
    }
    return out;
  }

  /** Headers of a request signed by the agent's key. */
  function agentHeaders(
    privateKey: Uint8Array,
    method: string,
    url: string,
    body?: string,
    extra: { nonce?: Hex; expiry?: number } = {},
  ) {
    return signRequest({
      privateKey,
      chainId: CHAIN_ID,
      verifyingContract: h.engine.registry.domain.verifyingContract,
      origin:
        (typeof options.origins === "function" ? options.origins() : options.origins)?.[0] ??
        DEFAULT_ORIGIN,
      method,
      path: url,
      ...(body === undefined ? {} : { body }),
      ...(extra.nonce === undefined ? {} : { nonce: extra.nonce }),
      ...(extra.expiry === undefined ? {} : { expiry: extra.expiry }),
    });
  }

  return {
    ...h,
    app,
    tee,
    keys,
    admin,
    logLines,
    rows,
    snapshot: () => snapshot(h.engine),
    agentHeaders,
    bearer: (key: string) => ({ authorization: `Bearer ${key}` }),
    async close() {
      await app.close();
      await h.close();
    },
  };
}
