/**
 * A data dir with its own anvil for CLI tests that anchor: `chaoscore init`,
 * then `chain up --detach` on a free port; the environment variables the
 * commands read are cleared for the file and restored after it, the anvil
 * killed and the directory removed.
 * @module
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { cli, expectCode } from "./run-cli.js";

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const CLEARED = [
  "DATABASE_URL",
  "CHAOSCORE_PASSWORD",
  "CHAOSCORE_RPC_URL",
  "CHAOSCORE_KEYSTORE",
  "CHAOSCORE_SHARD_MAX_ENTRIES",
] as const;

/**
 * Registers the file's `beforeAll`/`afterAll` and returns where things are
 * (read them inside tests: they are set by `beforeAll`).
 */
export function chainDataDir(name: string): { readonly work: string; readonly dir: string } {
  const saved = Object.fromEntries(CLEARED.map((k) => [k, process.env[k]]));
  const where = { work: "", dir: "" };
  let anvil: number | undefined;
  beforeAll(async () => {
    for (const k of CLEARED) delete process.env[k];
    process.env.CHAOSCORE_PASSWORD = `${name} test`;
    where.work = await mkdtemp(join(tmpdir(), `chaoscore-${name}-`));
    where.dir = join(where.work, "data");
    expectCode(await cli("--data-dir", where.dir, "init"), 0);
    const up = expectCode(
      await cli(
        "--data-dir",
        where.dir,
        "chain",
        "up",
        "--detach",
        "--port",
        String(await freePort()),
        "--block-time",
        "1",
        "--json",
      ),
      0,
    );
    anvil = (JSON.parse(up.stdout) as { pid: number }).pid;
  }, 120_000);
  afterAll(async () => {
    if (anvil !== undefined) {
      try {
        process.kill(anvil, "SIGKILL");
      } catch {
        // already stopped
      }
    }
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (where.work !== "") await rm(where.work, { recursive: true, force: true });
  });
  return where;
}
