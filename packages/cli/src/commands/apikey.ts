/**
 * `chaoscore apikey create|list|revoke`: the gateway's operator API keys, in
 * the data dir's database (the gateway reads the same table).
 * @module
 */
import { withEngine } from "../engine-context.js";
import { out, printFields, printJson } from "../output.js";
import type { Globals } from "../program.js";
import { createApiKeyRemote, type GatewayOptions } from "./remote.js";

/** `chaoscore apikey create --scope s [--label l]`. */
export async function runApiKeyCreate(
  { dataDir }: Globals,
  opts: { scope: string[]; label?: string; json?: boolean } & GatewayOptions,
): Promise<void> {
  if (opts.gateway !== undefined) {
    // Through the running server (which holds the data dir): POST /v1/api-keys.
    return createApiKeyRemote({ ...opts, gateway: opts.gateway });
  }
  const { ApiKeyStore } = await import("@chaoscore/gateway");
  const created = await withEngine(dataDir, ({ db }) =>
    new ApiKeyStore(db).create({
      scopes: opts.scope,
      ...(opts.label === undefined ? {} : { label: opts.label }),
    }),
  );
  if (opts.json === true) return printJson(created);
  printFields([
    ["id", created.id],
    ["scopes", created.scopes.join(", ")],
    ["label", created.label],
  ]);
  out(`API_KEY ${created.key}`);
  out("(shown once: store it now)");
}

/** `chaoscore apikey list`. */
export async function runApiKeyList({ dataDir }: Globals, opts: { json?: boolean }) {
  const { ApiKeyStore } = await import("@chaoscore/gateway");
  const keys = await withEngine(dataDir, ({ db }) => new ApiKeyStore(db).list());
  if (opts.json === true) return printJson(keys);
  if (keys.length === 0) out("no API keys");
  for (const k of keys) {
    out(
      `${k.id}  ${k.scopes.join(",").padEnd(24)} ${k.revokedAt === null ? "live   " : "revoked"}  ${k.createdAt}  ${k.label}`,
    );
  }
}

/** `chaoscore apikey revoke <id>`. */
export async function runApiKeyRevoke({ dataDir }: Globals, id: string, opts: { json?: boolean }) {
  const { ApiKeyStore } = await import("@chaoscore/gateway");
  await withEngine(dataDir, ({ db }) => new ApiKeyStore(db).revoke(id));
  if (opts.json === true) return printJson({ id, revoked: true });
  out(`revoked ${id}`);
}
