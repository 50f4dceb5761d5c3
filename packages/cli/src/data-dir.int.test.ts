import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateNoteKey } from "@chaoscore/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG_FORMAT, readConfig } from "./data-dir.js";

const { verifierKey } = generateNoteKey("chaoscore.test/log/config");
const good = {
  format: CONFIG_FORMAT,
  chainId: "31337",
  log: { id: "default", origin: "chaoscore.test/log/config", verifierKey },
};

describe("readConfig (config.json against its schema)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "chaoscore-config-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));
  const write = (value: unknown) =>
    writeFile(join(dir, "config.json"), typeof value === "string" ? value : JSON.stringify(value));

  it("reads a valid file, keeping only the known members", async () => {
    const witnesses = [{ url: "http://w.test", verifierKey }];
    await write({ ...good, witnesses, extra: 1 });
    expect(await readConfig(dir)).toEqual({ ...good, witnesses });
  });

  it.each([
    ["not JSON", "{", "not valid JSON"],
    ["null", null, `format is not ${CONFIG_FORMAT}`],
    ["another format", { ...good, format: "x" }, `format is not ${CONFIG_FORMAT}`],
    ["a hex chain id", { ...good, chainId: "0x1" }, "chainId is not a decimal chain id"],
    ["a numeric chain id", { ...good, chainId: 1 }, "chainId is not a decimal chain id"],
    [
      "a log without origin",
      { ...good, log: { id: "d", verifierKey } },
      "log must have string id, origin and verifierKey",
    ],
    [
      "witnesses not an array",
      { ...good, witnesses: {} },
      "witnesses must be an array of {url, verifierKey}",
    ],
    [
      "a witness without key",
      { ...good, witnesses: [{ url: "u" }] },
      "witnesses must be an array of {url, verifierKey}",
    ],
  ])("refuses %s with INVALID_INPUT naming the problem", async (_name, value, problem) => {
    await write(value);
    const error = await readConfig(dir).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INVALID_INPUT" });
    expect((error as Error).message).toContain(problem);
  });

  it("names the first member that does not fit, in order", async () => {
    await write({ ...good, chainId: "x", witnesses: 3 });
    await expect(readConfig(dir)).rejects.toThrow("chainId is not a decimal chain id");
  });
});
