import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deploymentAddress, generateNoteKey } from "@chaoscore/core";
import { afterAll, describe, expect, it } from "vitest";
import { createNode } from "./node.js";
import { type NodeConfig, parseNodeConfig } from "./node-config.js";
import { NODE_MIGRATIONS } from "./node-database.js";

const origin = "chaoscore.test/log/node";
const keys = generateNoteKey(origin);
const config: NodeConfig = {
  chainId: "31337",
  log: { id: "default", origin, ...keys },
  database: { dataDir: ":memory:" },
};

describe("parseNodeConfig", () => {
  it("accepts a complete configuration unchanged", () => {
    const full = {
      ...config,
      verifyingContract: `0x${"ab".repeat(20)}`,
      attestation: { trustedRoots: [`0x${"cd".repeat(32)}`] },
      signatureThreads: 2,
      anchorContract: `0x${"Ef".repeat(20)}`,
    };
    expect(parseNodeConfig(full)).toEqual(full);
  });

  it.each([
    ["a chain id that is not decimal", { ...config, chainId: "0x7a69" }, "/chainId"],
    [
      "a log without its signer key",
      { ...config, log: { id: "d", origin, verifierKey: keys.verifierKey } },
      "/log/signerKey",
    ],
    ["an unknown field", { ...config, databaseUrl: "postgres://x" }, "/databaseUrl"],
    ["negative signature threads", { ...config, signatureThreads: -1 }, "/signatureThreads"],
    [
      "a trusted root that is not a key",
      { ...config, attestation: { trustedRoots: ["0x12"] } },
      "/attestation/trustedRoots/0",
    ],
  ])("refuses %s with INVALID_INPUT naming the field", (_name, value, field) => {
    expect(() => parseNodeConfig(value, "here")).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", details: { field } }),
    );
  });
});

describe("createNode", () => {
  const dir = mkdtempSync(join(tmpdir(), "chaoscore-node-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("opens the store with every package's migrations and assembles the engine", async () => {
    const node = await createNode(config);
    try {
      const rows = await node.db.query<{ version: number }>(
        "SELECT version FROM schema_migrations ORDER BY version",
      );
      expect(rows.map((r) => Number(r.version))).toEqual(NODE_MIGRATIONS.map((m) => m.version));
      expect(node.chainId).toBe(31337n);
      expect(node.engine.registry.domain.verifyingContract).toBe(
        deploymentAddress(keys.verifierKey),
      );
      expect(node.engine.log.origin).toBe(origin);
      expect(node.engine.anchoring).toBeUndefined();
    } finally {
      await node.close();
    }
  });

  it("refuses a bad configuration before opening anything", async () => {
    const pgdata = join(dir, "pgdata");
    await expect(
      createNode({ ...config, chainId: "0", database: { dataDir: pgdata } }),
    ).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "/chainId" } });
    expect(existsSync(pgdata)).toBe(false);
  });
});
