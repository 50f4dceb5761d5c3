/**
 * `chaoscore log shards`: the shards of the data directory's log family
 * (docs/spec/shards.md) — what `GET /v1/logs` answers.
 * @module
 */
import { withEngine } from "../engine-context.js";
import { out, printJson } from "../output.js";
import type { Globals } from "../program.js";

/** `chaoscore log shards [--json]`: one line per shard, oldest first. */
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
  out(
    `rotation: at ${never(limits.maxEntries, "entries")}, at ${never(limits.maxAgeSeconds, "s of age")}`,
  );
}
