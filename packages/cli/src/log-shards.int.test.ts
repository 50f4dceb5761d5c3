/**
 * `chaoscore log shards` (ATTACK18): the rotation limits it prints are this
 * command's environment, not the deployment's — each `serve` rotates by its
 * own flags, and the database does not store them — so the line says so.
 * DATABASE_URL is removed for this file (PGlite).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, expectCode } from "./test-support/run-cli.js";

const saved = {
  DATABASE_URL: process.env.DATABASE_URL,
  CHAOSCORE_PASSWORD: process.env.CHAOSCORE_PASSWORD,
  CHAOSCORE_SHARD_MAX_ENTRIES: process.env.CHAOSCORE_SHARD_MAX_ENTRIES,
  CHAOSCORE_SHARD_MAX_AGE: process.env.CHAOSCORE_SHARD_MAX_AGE,
};
let work: string;
let dir: string;
beforeAll(async () => {
  for (const k of Object.keys(saved)) delete process.env[k];
  process.env.CHAOSCORE_PASSWORD = "log shards test";
  work = await mkdtemp(join(tmpdir(), "chaoscore-log-shards-"));
  dir = join(work, "data");
  expectCode(await cli("--data-dir", dir, "init"), 0);
}, 60_000);
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await rm(work, { recursive: true, force: true });
});

describe("log shards", () => {
  it("lists the family and names where its rotation limits come from", async () => {
    const plain = expectCode(await cli("--data-dir", dir, "log", "shards"), 0).stdout;
    expect(plain).toMatch(/^ {2}0 {2}default {2}\S+ {2}size 0 {2}active$/m);
    expect(plain).toMatch(
      /^rotation in this environment \(CHAOSCORE_SHARD_MAX_ENTRIES, CHAOSCORE_SHARD_MAX_AGE; a serve rotates by its own --shard-max-\* flags\): at never, at never$/m,
    );
    process.env.CHAOSCORE_SHARD_MAX_ENTRIES = "7";
    try {
      const seven = expectCode(await cli("--data-dir", dir, "log", "shards"), 0).stdout;
      expect(seven).toMatch(/: at 7 entries, at never$/m);
    } finally {
      delete process.env.CHAOSCORE_SHARD_MAX_ENTRIES;
    }
  }, 60_000);
});
