/**
 * The V8 CPU profiler of this process's main thread through the inspector
 * (no `--cpu-prof` restart needed): the benches profile one pass with it.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { dirname } from "node:path";

/** Starts the profiler; the returned function stops it and writes the profile to `file` (its directory made if missing). */
export async function profileTo(file: string): Promise<() => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    session.disconnect();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(profile));
  };
}
