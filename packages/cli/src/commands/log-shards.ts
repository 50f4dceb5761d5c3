/**
 * `chaoscore log shards`: the shards of the data directory's log family
 * (docs/spec/shards.md) — what `GET /v1/logs` answers.
 * @module
 */
import { withEngine } from "../engine-context.js";
import { out, printJson } from "../output.js";
import type { Globals } from "../program.js";

/**
 * `chaoscore log shards [--json]`: one line per shard, oldest first, then the
 * rotation limits of this command's environment (`rotation` in JSON) — each
 * `serve` rotates by its own flags, which no database stores.
 */
export async function runLogShards({ dataDir }: Globals, opts: { json?: boolean }): Promise<void> {
  const { shards, limits } = await withEngine(dataDir, async ({ engine }) => ({
    shards: await engine.logs.list(),
    limits: engine.logs.limits,
  }));
  if (opts.json === true) {
    printJson({ logs: shards, rotation: limits });
    return;
  }
  for (const s of shards) {
    const state =
      s.state === "active"
        ? "active"
        : `frozen at ${s.frozenSize} (${s.frozenAt}) → ${s.successor ?? "?"}`;
    out(`${String(s.shard).padStart(3)}  ${s.id}  ${s.origin}  size ${s.size}  ${state}`);
  }
  const never = (n: number, unit: string) => (n === 0 ? "never" : `${n} ${unit}`);
  // The limits are a setting of each process (not stored): say whose these are.
  out(
    `rotation in this environment (CHAOSCORE_SHARD_MAX_ENTRIES, CHAOSCORE_SHARD_MAX_AGE; a serve rotates by its own --shard-max-* flags): at ${never(limits.maxEntries, "entries")}, at ${never(limits.maxAgeSeconds, "s of age")}`,
  );
}
