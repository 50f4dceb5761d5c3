/**
 * The staging stack for real (issue 18 item 6, "the staging stack shows two shards and two
 * gateways"): `npm run staging -- up` in a fresh directory on free ports — a Postgres primary
 * and its streaming replica (Debian's binaries), anvil, two gateways, the worker — then the
 * staging demo (`chaoscore demo --target staging`), whose scale-out part writes through both
 * gateways across a shard rotation; then `reset`. Skipped, with the reason, where no
 * PostgreSQL server binaries are installed (initdb, pg_basebackup).
 */
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresBinDir } from "./postgres.js";
import { CLI, ROOT } from "./settings.js";

const bindir = postgresBinDir();
const SKIP =
  bindir === undefined || !existsSync(join(bindir, "pg_basebackup"))
    ? "no PostgreSQL server binaries (initdb, pg_basebackup) installed"
    : undefined;
const TSX = join(ROOT, "node_modules", ".bin", "tsx");

type Ran = { code: number; stdout: string; stderr: string };

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd: ROOT, env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

describe.skipIf(SKIP !== undefined)(
  `npm run staging and its demo${SKIP === undefined ? "" : ` (skipped: ${SKIP})`}`,
  () => {
    let dir: string;
    let up: Ran;
    const staging = (...args: string[]) => run(TSX, ["scripts/staging.ts", ...args, "--dir", dir]);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "chaoscore-staging-test-"));
      // traversable, as a staging dir is: run as root, the servers run as `postgres`
      chmodSync(dir, 0o755);
      const ports = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
      const flags = ["--port", "--port-2", "--rpc-port", "--pg-port", "--replica-port"];
      // shards of 20 entries: the demo's governance flow and its scale-out part cross one
      const settings = flags.flatMap((flag, i) => [flag, String(ports[i])]);
      up = await staging("up", ...settings, "--anchor-every", "2", "--shard-max-entries", "20");
    }, 300_000);

    afterAll(async () => {
      if (dir === undefined) return;
      const reset = await staging("reset");
      if (reset.code !== 0) process.stderr.write(`staging reset failed:\n${reset.stderr}\n`);
      rmSync(dir, { recursive: true, force: true });
    }, 120_000);

    it("starts the primary, the replica, anvil, two gateways and the worker", async () => {
      expect({ code: up.code, stderr: up.code === 0 ? "" : up.stderr }).toEqual({
        code: 0,
        stderr: "",
      });
      for (const service of ["postgres", "postgres-replica", "anvil", "gateway-1", "gateway-2"]) {
        expect(up.stdout).toMatch(new RegExp(`^${service} +up `, "m"));
      }
      expect(up.stderr).toContain("hot standby, WAL receiver streaming");
      const status = await staging("status", "--json");
      expect(status.code).toBe(0);
      const stack = JSON.parse(status.stdout) as {
        gatewayUrls: string[];
        states: Record<string, string>;
        readyz: Record<string, string>;
      };
      expect(stack.gatewayUrls).toHaveLength(2);
      expect(Object.values(stack.states).every((s) => s === "up")).toBe(true);
      for (const name of ["gateway-1", "gateway-2"]) {
        const readyz = JSON.parse(stack.readyz[name] as string) as {
          checks: Record<string, string>;
        };
        expect(readyz.checks.leader).toBe("follower");
        expect(readyz.checks.replica).toMatch(/^ok/);
      }
    });

    it("the demo writes through both gateways across a rotation: two shards, receipts of both verify", async () => {
      const demo = await run(
        process.execPath,
        [CLI, "demo", "--target", "staging", "--anchor-timeout", "0"],
        { CHAOSCORE_STAGING_DIR: dir },
      );
      expect({ code: demo.code, stderr: demo.code === 0 ? "" : demo.stderr }).toEqual({
        code: 0,
        stderr: "",
      });
      const summary = (what: string) =>
        new RegExp(`^SUMMARY ${what} (.*)$`, "m").exec(demo.stdout)?.[1] ?? "";
      expect(summary("gateways")).toBe(
        "2: gateway-1 follower, gateway-2 follower; leader: the worker",
      );
      const writes = /^(\d+): (\d+) via gateway-1, (\d+) via gateway-2$/.exec(summary("writes"));
      expect(Number(writes?.[2])).toBeGreaterThan(0);
      expect(Number(writes?.[3])).toBeGreaterThan(0);
      const shards = /^(\d+): (.*)$/.exec(summary("shards"));
      expect(Number(shards?.[1])).toBeGreaterThanOrEqual(2);
      expect(shards?.[2]).toMatch(/ frozen \(/);
      expect(shards?.[2]).toMatch(/ active \(/);
      const reads = /^(\d+) from the replica/.exec(summary("reads"));
      expect(Number(reads?.[1])).toBeGreaterThan(0);
      const receipts = /^(\d+) verified under /.exec(summary("receipts"));
      expect(Number(receipts?.[1])).toBeGreaterThanOrEqual(2);
      // a monitor pass over the whole family (certificates, links, entries, tiles) is clean
      expect(summary("monitor")).toMatch(/^\d+ shards, \d+ entries verified, no findings$/);
      expect(demo.stdout.trimEnd().split("\n").at(-1)).toMatch(/^RECEIPT 0x[0-9a-f]{64} /);
    });
  },
);
