import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { isChaosCoreError } from "@chaoscore/core";
import { describe, expect, it } from "vitest";
import { LocalSigner, loadKeystore } from "./signer.js";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"; // anvil #1, public
const dir = mkdtempSync(join(tmpdir(), "chaoscore-keystore-"));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isChaosCoreError(e)) return e.code;
    throw e;
  }
  throw new Error("expected a ChaosCoreError");
}

describe("LocalSigner", () => {
  it("never reveals its key through JSON, inspect, String or its properties", () => {
    const signer = LocalSigner.fromPrivateKey(KEY);
    const secret = KEY.slice(2);
    expect(signer.address).toBe("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    for (const view of [
      JSON.stringify(signer),
      inspect(signer, { depth: 10, showHidden: true }),
      String(signer),
      JSON.stringify(Object.entries(signer)),
      inspect({ nested: { signer } }, { depth: 10 }),
    ]) {
      expect(view.toLowerCase()).not.toContain(secret);
      expect(view).toContain("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    }
  });

  it("refuses malformed keys without echoing them", () => {
    for (const bad of ["0x1234", `${KEY}00`, "not hex", `0x${"0".repeat(64)}`]) {
      try {
        LocalSigner.fromPrivateKey(bad);
        expect.unreachable();
      } catch (e) {
        expect(isChaosCoreError(e, "CHAIN_KEYSTORE_INVALID")).toBe(true);
        expect(String((e as Error).message)).not.toContain(bad);
      }
    }
  });
});

describe("loadKeystore", () => {
  const signer = LocalSigner.fromPrivateKey(KEY);
  let json: string;
  const path = join(dir, "key.json");

  it("round-trips a keystore v3 file with the password from the argument, env or prompt", async () => {
    json = await signer.encrypt("correct horse", { scryptN: 1024 });
    writeFileSync(path, json);
    expect(JSON.parse(json).version).toBe(3);
    expect(json.toLowerCase()).not.toContain(KEY.slice(2));
    expect((await loadKeystore({ path }, { password: "correct horse" })).address).toBe(
      signer.address,
    );
    expect(
      (await loadKeystore({ json }, { env: { CHAOSCORE_PASSWORD: "correct horse" } })).address,
    ).toBe(signer.address);
    let asked = 0;
    const prompted = await loadKeystore(
      { path },
      {
        env: {},
        prompt: async () => {
          asked++;
          return "correct horse";
        },
      },
    );
    expect(prompted.address).toBe(signer.address);
    expect(asked).toBe(1);
  });

  it("fails with CHAIN_KEYSTORE_PASSWORD on a missing, empty or wrong password", async () => {
    expect(await codeOf(loadKeystore({ path }, { env: {} }))).toBe("CHAIN_KEYSTORE_PASSWORD");
    expect(await codeOf(loadKeystore({ path }, { env: {}, prompt: async () => "" }))).toBe(
      "CHAIN_KEYSTORE_PASSWORD",
    );
    expect(await codeOf(loadKeystore({ path }, { password: "wrong" }))).toBe(
      "CHAIN_KEYSTORE_PASSWORD",
    );
  });

  it("fails with CHAIN_KEYSTORE_INVALID on a missing or non-keystore file", async () => {
    expect(await codeOf(loadKeystore({ path: join(dir, "none.json") }, { password: "x" }))).toBe(
      "CHAIN_KEYSTORE_INVALID",
    );
    expect(await codeOf(loadKeystore({ json: "{}" }, { password: "x" }))).toBe(
      "CHAIN_KEYSTORE_INVALID",
    );
    expect(await codeOf(loadKeystore({ json: "not json" }, { password: "x" }))).toBe(
      "CHAIN_KEYSTORE_INVALID",
    );
  });
});
