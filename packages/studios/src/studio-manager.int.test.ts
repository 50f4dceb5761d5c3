import { randomBytes } from "node:crypto";
import { type Hex, privateKeyToAddress } from "@chaoscore/core";
import { TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Studios } from "./studios.js";
import { type Actor, type Harness, studioHarness } from "./test-support/studio-harness.js";

describe(`studio framework: StudioManager (${TEST_DB_KIND})`, () => {
  const t = studioHarness();
  const { rejects, newStudio } = t;
  let h: Harness;
  let s: Studios;
  let operator: Actor;
  let evaluator: Actor;
  let worker: Actor;
  let outsider: Actor;
  let unskilled: Actor;
  let measurement: Hex;

  beforeAll(async () => {
    ({ h, s, operator, evaluator, worker, outsider, unskilled, measurement } = await t.open());
  });
  afterAll(async () => t.close());

  describe("StudioManager", () => {
    it("creates a studio with its operator as a member, and reads it back", async () => {
      const studio = await newStudio({ id: "arith-1" });
      expect(studio).toMatchObject({
        id: "arith-1",
        kind: "generic",
        operator: operator.address,
        status: "active",
        spent: "0",
        version: 1,
      });
      expect(await s.studios.get("arith-1")).toEqual(studio);
      const members = await s.studios.members("arith-1");
      expect(members.find((m) => m.agent === operator.address)?.roles).toEqual(["operator"]);
      expect(members.map((m) => m.agent).sort()).toEqual(
        [operator, evaluator, worker, unskilled].map((a) => a.address).sort(),
      );
    });

    it("refuses an invalid config, rules or reward policy, or a taken id: nothing changed", async () => {
      const base = {
        kind: "generic",
        name: "Bad",
        operator: operator.address,
        config: {},
        rules: { attestationRequired: false },
        rewardPolicy: { kind: "fixed", budget: "10", amountPerSuccess: "1" },
      };
      const cases: Record<string, unknown>[] = [
        { kind: "no-such-kind" },
        { config: "not an object" },
        { kind: "governance", config: { dao: { treasury: -1 } } },
        { rules: { attestationRequired: "yes" } },
        { rules: { attestationRequired: false, allowedMeasurements: [measurement] } },
        { rules: { attestationRequired: true, minReputation: 2 } },
        { rewardPolicy: { kind: "fixed", budget: "-5", amountPerSuccess: "1" } },
        { rewardPolicy: { kind: "lottery", budget: "5" } },
        { id: "Not A Slug" },
        { name: "" },
      ];
      for (const c of cases) {
        await rejects(() => s.studios.create({ ...base, ...c } as never), "STUDIO_CONFIG_INVALID");
      }
      await rejects(() => s.studios.create({ ...base, id: "arith-1" }), "STUDIO_EXISTS");
      await rejects(
        () => s.studios.create({ ...base, operator: privateKeyToAddress(randomBytes(32)) }),
        "AGENT_NOT_FOUND",
      );
      await rejects(
        () => s.studios.configure("arith-1", { rewardPolicy: { kind: "share" } }),
        "STUDIO_CONFIG_INVALID",
      );
    });

    it("configures, lists a page at a time, and archives", async () => {
      const updated = await s.studios.configure("arith-1", {
        rules: { attestationRequired: false, minReputation: 0 },
      });
      expect(updated.version).toBe(2);
      expect(updated.rules.minReputation).toBe(0);
      for (const id of ["list-a", "list-b", "list-c"]) await newStudio({ id });
      const first = await s.studios.list({ limit: 2, kind: "generic" });
      expect(first.items.map((x) => x.id)).toEqual(["arith-1", "list-a"]);
      const second = await s.studios.list({ limit: 2, cursor: first.nextCursor as string });
      expect(second.items.map((x) => x.id)).toEqual(["list-b", "list-c"]);
      expect(second.nextCursor).toBeNull();
      await expect(s.studios.list({ limit: 0 })).rejects.toMatchObject({ code: "INVALID_INPUT" });
      const archived = await s.studios.archive("list-c");
      expect(archived.status).toBe("archived");
      expect((await s.studios.list({ status: "archived" })).items.map((x) => x.id)).toEqual([
        "list-c",
      ]);
      await rejects(() => s.studios.configure("list-c", { name: "x" }), "STUDIO_ARCHIVED");
      await rejects(
        () => s.studios.addMember("list-c", outsider.address, ["agent"]),
        "STUDIO_ARCHIVED",
      );
      await rejects(() => s.studios.archive("list-c"), "STUDIO_ARCHIVED");
      await rejects(() => s.studios.get("nope"), "STUDIO_NOT_FOUND");
    });

    it("adds only registered, active agents with the kind's roles; removes members", async () => {
      await rejects(
        () => s.studios.addMember("list-a", privateKeyToAddress(randomBytes(32)), ["agent"]),
        "AGENT_NOT_FOUND",
      );
      const suspended = await h.newAgent(["math"]);
      await h.engine.registry.suspend(suspended.address, "test");
      await rejects(
        () => s.studios.addMember("list-a", suspended.address, ["agent"]),
        "AGENT_NOT_ACTIVE",
      );
      await rejects(
        () => s.studios.addMember("list-a", outsider.address, ["king"]),
        "STUDIO_CONFIG_INVALID",
      );
      await s.studios.addMember("list-a", outsider.address, ["agent", "evaluator"]);
      expect(await s.studios.rolesOf("list-a", outsider.address)).toEqual(["agent", "evaluator"]);
      await s.studios.removeMember("list-a", outsider.address);
      expect(await s.studios.rolesOf("list-a", outsider.address)).toBeNull();
      await rejects(() => s.studios.removeMember("list-a", outsider.address), "STUDIO_NOT_MEMBER");
      await rejects(
        () => s.studios.removeMember("list-a", operator.address),
        "STUDIO_ROLE_FORBIDDEN",
      );
    });
  });
});
