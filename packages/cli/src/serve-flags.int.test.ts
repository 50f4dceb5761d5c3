/**
 * `chaoscore serve` with shard and replica settings it cannot run with
 * (ATTACK18): a coded error before anything is written — no data directory,
 * no key, no database. DATABASE_URL is removed for this file (PGlite).
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, expectCode } from "./test-support/run-cli.js";

const saved = {
  DATABASE_URL: process.env.DATABASE_URL,
  CHAOSCORE_READ_DATABASE_URL: process.env.CHAOSCORE_READ_DATABASE_URL,
  CHAOSCORE_SHARD_MAX_ENTRIES: process.env.CHAOSCORE_SHARD_MAX_ENTRIES,
  CHAOSCORE_SHARD_MAX_AGE: process.env.CHAOSCORE_SHARD_MAX_AGE,
};
let work: string;
beforeAll(async () => {
  for (const k of Object.keys(saved)) delete process.env[k];
  work = await mkdtemp(join(tmpdir(), "chaoscore-serve-flags-"));
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await rm(work, { recursive: true, force: true });
});

describe("serve refuses settings it cannot run with, before it writes anything", () => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    [
      "--shard-max-entries 1",
      ["--shard-max-entries", "1"],
      {},
      /^error INVALID_INPUT: --shard-max-entries .*0 \(never\) or an integer ≥ 2/,
    ],
    [
      "CHAOSCORE_SHARD_MAX_ENTRIES=1",
      [],
      { CHAOSCORE_SHARD_MAX_ENTRIES: "1" },
      /^error INVALID_INPUT: CHAOSCORE_SHARD_MAX_ENTRIES .*0 \(never\) or an integer ≥ 2/,
    ],
    [
      "CHAOSCORE_SHARD_MAX_ENTRIES=abc",
      [],
      { CHAOSCORE_SHARD_MAX_ENTRIES: "abc" },
      /^error INVALID_INPUT: CHAOSCORE_SHARD_MAX_ENTRIES is a whole number/,
    ],
    [
      "CHAOSCORE_SHARD_MAX_AGE=1h",
      [],
      { CHAOSCORE_SHARD_MAX_AGE: "1h" },
      /^error INVALID_INPUT: CHAOSCORE_SHARD_MAX_AGE is a whole number/,
    ],
    [
      "--read-database-url without a Postgres primary",
      ["--read-database-url", "postgres://127.0.0.1:1/replica"],
      {},
      /^error INVALID_INPUT: --read-database-url .*needs --database-url or DATABASE_URL/,
    ],
  ];
  it.each(cases)("%s", async (name, flags, env, message) => {
    const dir = join(work, name.replace(/[^a-z0-9]+/gi, "-"));
    Object.assign(process.env, env);
    try {
      const r = expectCode(
        await cli("--data-dir", dir, "serve", "--no-chain", "--port", "0", ...flags),
        1,
      );
      expect(r.stderr).toMatch(message);
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
    }
    expect(existsSync(dir)).toBe(false);
  });

  it("says in --help what a shard limit may be", async () => {
    const help = expectCode(await cli("serve", "--help"), 0).stdout.replace(/\s+/g, " ");
    expect(help).toContain("0: never, else at least 2");
  });
});
