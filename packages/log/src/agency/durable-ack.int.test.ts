/**
 * An action is acknowledged only once its transaction has committed: a child
 * process records actions and prints each acknowledgement; it is SIGKILLed
 * right after an acknowledgement, and every acknowledged action is found when
 * the database is opened again.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bytesToHex, generateNoteKey } from "@chaoscore/core";
import { TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../store/open-database.js";

const WRITER = new URL("../../../testkit/src/ack-writer.ts", import.meta.url).pathname;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "chaoscore-durable-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs the writer until it has acknowledged `acks` actions, then SIGKILLs it at once. */
function runAndKill(env: Record<string, string>, acks: number): Promise<string[]> {
  const child = spawn(process.execPath, ["--import", "tsx", WRITER], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const ids: string[] = [];
    let buffered = "";
    let killed = false;
    child.stdout.on("data", (chunk) => {
      buffered += String(chunk);
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("ACK ")) ids.push(line.slice(4));
      }
      if (!killed && ids.length >= acks) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve(ids);
      else reject(new Error(`the writer exited on its own (${code}) after ${ids.length} acks`));
    });
  });
}

describe(`acknowledged actions survive SIGKILL (${TEST_DB_KIND})`, () => {
  it("finds every acknowledged action after the writer is killed, twice over", async () => {
    const logKeys = generateNoteKey("chaoscore.test/log/durable");
    const key = bytesToHex(randomBytes(32));
    const schema = `durable_${randomBytes(4).toString("hex")}`;
    const dataDir = join(root, "pgdata");
    const env: Record<string, string> = {
      ACK_KEY: key,
      ACK_LOG_KEYS: JSON.stringify(logKeys),
      ...(TEST_DB_KIND === "postgres" ? { ACK_SCHEMA: schema } : { ACK_DATA_DIR: dataDir }),
    };
    const acked = [...(await runAndKill(env, 150)), ...(await runAndKill(env, 150))];
    expect(acked.length).toBeGreaterThanOrEqual(300);
    const db =
      TEST_DB_KIND === "postgres"
        ? await openDatabase({ databaseUrl: process.env.DATABASE_URL, schema })
        : await openDatabase({ databaseUrl: null, dataDir });
    try {
      // each acknowledged action: its row, and the log's leaf at the row's index
      const rows = await db.query<{ id: string }>(
        `SELECT '0x' || encode(a.id, 'hex') AS id FROM actions a
         JOIN log_leaves l ON l.log_id = a.log_id AND l.idx = a.leaf_index
         WHERE a.id IN (SELECT decode(substr(w, 3), 'hex') FROM unnest($1::text[]) AS w)`,
        [acked],
      );
      const found = new Set(rows.map((r) => r.id));
      expect(acked.filter((id) => !found.has(id))).toEqual([]);
      // and the log holds a leaf for each row, no more
      const [sizes] = await db.query<{ leaves: number; actions: number }>(
        "SELECT (SELECT count(*) FROM log_leaves)::int AS leaves, (SELECT count(*) FROM actions)::int AS actions",
      );
      expect(sizes?.leaves).toBe(sizes?.actions);
    } finally {
      if (TEST_DB_KIND === "postgres") await db.exec(`DROP SCHEMA ${schema} CASCADE`);
      await db.close();
    }
  });
});
