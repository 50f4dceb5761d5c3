import { createHash } from "node:crypto";
import { NODE_MIGRATIONS, openDatabase } from "@chaoscore/engine";
import { composeMigrations, type Db, migrate } from "@chaoscore/log";
import { afterEach, describe, expect, it } from "vitest";
import { GATEWAY_MIGRATIONS } from "./migrations.js";

/**
 * The single list every table lived in before each package owned its
 * migrations (log/src/store/migrations.ts at 3f19ff5), in its array order —
 * the order the old runner applied it in: version, name, SHA-256 of the SQL.
 */
const BEFORE_THE_SPLIT: readonly [number, string, string][] = [
  [
    1,
    "registry, log and proof of agency",
    "d947a40f40d3ed00ea16e9fead73397579f4d84cfbe77378f61b2166cf999d31",
  ],
  [2, "attested actions", "512c7b26007d016c1608b22d9637f3c707ba8cbd1641e5d2957e3448f390ecab"],
  [
    3,
    "on-chain anchors of checkpoints and agent cards",
    "76916802453afd6635b6f33a48bad19333795f50639b4fdf0e9d5e3c21ac0740",
  ],
  [
    4,
    "reputation scores, contributions, trust and epochs",
    "968edc2062d5393dbf6d7e63b96d19dbf2b12ef783768897601e8e1056534426",
  ],
  [
    5,
    "studios, members, tasks and the governance studio",
    "f425e22a01eae3171fabe07dd65de7b30240e0389660869e8b8b74fed8ecea7f",
  ],
  [
    6,
    "gateway: operator API keys, request nonces, idempotency keys",
    "cbdfb494c603a2c482046cbc3da736516d8da12dd8238ecaba210a36814a2994",
  ],
  [
    7,
    "reputation: the pre-trusted raters, shared by every process",
    "908f7e9de3eaa6bf2a4bb2929806050226f5ec13ed5ec1b4d7de93bf7286a7df",
  ],
  [
    10,
    "gateway: idempotency reservations are leases renewed by the running request; keys expire",
    "0d5b6aef90df216e5c6469d33b6b341125a577b2a09c0cc576e6c0643ba4ec85",
  ],
  [
    8,
    "log: witness cosignatures of checkpoints (C2SP tlog-cosignature)",
    "bbceb4c25c01b997a0166bc60076d9e4b2dbabe7239591f6504c04f71555e703",
  ],
  [
    11,
    "agency: several outcomes per action, one per evaluator (issue 19 item 4)",
    "947fe8ce7b709e1b61d186c96844294e314cb40e9a1bca06c58844b2bd216b7e",
  ],
  [
    12,
    "studio: a task's payout is claimed in the database before it is paid (issue 19 item 15)",
    "8e83f8ac74457bd67dedc25f269e69855bf6a0a634e15b58878893eae913af01",
  ],
];

const SERVER_MIGRATIONS = composeMigrations(NODE_MIGRATIONS, GATEWAY_MIGRATIONS);
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Every column and index of the schema, to compare two databases. */
async function schemaOf(db: Db) {
  const columns = await db.query(
    `SELECT table_name, column_name, data_type, is_nullable, column_default
       FROM information_schema.columns WHERE table_schema = current_schema()
      ORDER BY table_name, column_name`,
  );
  const indexes = await db.query(
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname",
  );
  return { columns, indexes };
}

describe("migrations owned by their packages", () => {
  const open: Db[] = [];
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close();
  });

  it("are the pre-split migrations, byte for byte, with the same versions and names", () => {
    const now = SERVER_MIGRATIONS.map((m) => [m.version, m.name, sha256(m.sql)]);
    const before = [...BEFORE_THE_SPLIT].sort((a, b) => a[0] - b[0]);
    expect(now.slice(0, before.length)).toEqual(before);
  });

  it("open a database migrated by the old single list unchanged: nothing re-runs", async () => {
    const old = await openDatabase({ databaseUrl: null, dataDir: ":memory:", migrations: [] });
    open.push(old);
    // What the old runner did: the single list in its array order, each recorded.
    await migrate(old, []);
    for (const [version] of BEFORE_THE_SPLIT) {
      const m = SERVER_MIGRATIONS.find((x) => x.version === version);
      if (m === undefined) throw new Error(`migration ${version} is gone`);
      await old.exec(m.sql);
      await old.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        m.version,
        m.name,
      ]);
    }
    const schemaBefore = await schemaOf(old);
    expect(await migrate(old, SERVER_MIGRATIONS)).toEqual(
      SERVER_MIGRATIONS.map((m) => m.version).filter(
        (v) => !BEFORE_THE_SPLIT.some(([old]) => old === v),
      ),
    );
    const fresh = await openDatabase({
      databaseUrl: null,
      dataDir: ":memory:",
      migrations: SERVER_MIGRATIONS,
    });
    open.push(fresh);
    expect(await schemaOf(old)).toEqual(await schemaOf(fresh));
    expect(schemaBefore.columns.length).toBeGreaterThan(0);
  });
});
