import { randomBytes } from "node:crypto";
import { TEST_DB_KIND } from "@chaoscore/testkit";
import { describe, expect, it } from "vitest";
import type { AgentRegistry } from "./index.js";
import { makeCard, newKey, useRegistryFixture } from "./test-support/registry-fixture.js";

describe(`agent registry: get, list and signingState on ${TEST_DB_KIND}`, () => {
  const f = useRegistryFixture();
  const { advance, registered, rotateRequest } = f;

  describe("get", () => {
    it("refuses an unknown or malformed id", async () => {
      await expect(f.registry.get(newKey().address)).rejects.toMatchObject({
        code: "AGENT_NOT_FOUND",
      });
      await expect(f.registry.get("not-an-address")).rejects.toMatchObject({
        code: "AGENT_NOT_FOUND",
      });
      for (const read of [
        (id: string) => f.registry.cardHistory(id),
        (id: string) => f.registry.keyHistory(id),
        (id: string) => f.registry.keyRotations(id),
        (id: string) => f.registry.statusHistory(id),
      ]) {
        await expect(read(newKey().address)).rejects.toMatchObject({ code: "AGENT_NOT_FOUND" });
      }
    });
  });

  describe("list", () => {
    it("filters by capability, owner, status and text, and pages in a stable order", async () => {
      const tag = `t${randomBytes(6).toString("hex")}`;
      const owner = newKey().address;
      // Five agents registered at the same instant (order falls back to the id), then two later.
      const sameTime: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { record } = await registered(
          makeCard({ capabilities: [tag], name: `Batch ${i}`, owner: i < 2 ? owner : null }),
        );
        sameTime.push(record.identity.id);
      }
      advance(5);
      const { record: later } = await registered(
        makeCard({ capabilities: [tag, "extra"], name: "Later 100%_off" }),
      );
      advance(5);
      const { record: last } = await registered(
        makeCard({ capabilities: [tag], description: "Knows SOLIDITY well" }),
      );
      const owned = sameTime.slice(0, 2).sort();
      const expected = [...sameTime.sort(), later.identity.id, last.identity.id];

      const all = await f.registry.list({ capability: tag });
      expect(all.items.map((r) => r.identity.id)).toEqual(expected);
      expect(all.nextCursor).toBeNull();

      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await f.registry.list(
          cursor === undefined
            ? { capability: tag, limit: 2 }
            : { capability: tag, limit: 2, cursor },
        );
        pages.push(page.items.map((r) => r.identity.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 1]);
      expect(pages.flat()).toEqual(expected);

      const byOwner = await f.registry.list({ owner: owner.toUpperCase().replace("0X", "0x") });
      expect(byOwner.items.map((r) => r.identity.id)).toEqual(owned);
      expect(
        (await f.registry.list({ capability: tag, text: "100%_" })).items.map((r) => r.identity.id),
      ).toEqual([later.identity.id]);
      expect((await f.registry.list({ capability: tag, text: "0%x" })).items).toEqual([]);
      expect(
        (await f.registry.list({ capability: tag, text: "solidity" })).items.map(
          (r) => r.identity.id,
        ),
      ).toEqual([last.identity.id]);
      expect(
        (await f.registry.list({ capability: "extra" })).items.map((r) => r.identity.id),
      ).toEqual([later.identity.id]);

      await f.registry.suspend(later.identity.id, "check");
      expect(
        (await f.registry.list({ capability: tag, status: "suspended" })).items.map(
          (r) => r.identity.id,
        ),
      ).toEqual([later.identity.id]);
      expect((await f.registry.list({ capability: tag, status: "active" })).items).toHaveLength(6);

      const firstDefault = await f.registry.list();
      expect(firstDefault.items.length).toBeLessThanOrEqual(50);
    });

    it("refuses a bad limit, filter or cursor", async () => {
      const bad: unknown[] = [
        { limit: 0 },
        { limit: 501 },
        { limit: 1.5 },
        { status: "gone" },
        { owner: "bob" },
        { capability: "Upper" },
        { cursor: "!!" },
        { cursor: Buffer.from("[1,2]").toString("base64url") },
        { cursor: Buffer.from('["2030-01-01T00:00:00.000000Z","x"]').toString("base64url") },
        { extra: 1 },
        "all",
      ];
      for (const query of bad) {
        await expect(
          f.registry.list(query as Parameters<AgentRegistry["list"]>[0]),
        ).rejects.toMatchObject({ code: "AGENT_REQUEST_MALFORMED" });
      }
    });
  });

  describe("signingState", () => {
    it("returns signer, status and action nonce of known agents", async () => {
      const { agent: a } = await registered();
      const { agent: b } = await registered();
      const next = newKey();
      await f.registry.rotateKey(rotateRequest(b.address, b, next, { nonce: "2" }));
      await f.registry.suspend(b.address, "x");
      // Proof of Agency owns action_nonce; simulate one accepted action.
      await f.db.query("UPDATE agents SET action_nonce = $2::numeric WHERE id = $1", [
        a.address,
        "18446744073709551615",
      ]);
      const unknown = newKey().address;
      const state = await f.registry.signingState([a.address, b.address, unknown, a.address]);
      expect([...state.entries()].sort()).toEqual(
        [
          [a.address, { signer: a.address, status: "active", actionNonce: 18446744073709551615n }],
          [b.address, { signer: next.address, status: "suspended", actionNonce: null }],
        ].sort(),
      );
      const inTx = await f.db.transaction((tx) => f.registry.signingState([b.address], tx));
      expect(inTx.get(b.address)).toEqual(state.get(b.address));
      expect((await f.registry.signingState([])).size).toBe(0);
      await expect(f.registry.signingState("nope" as unknown as string[])).rejects.toMatchObject({
        code: "AGENT_REQUEST_MALFORMED",
      });
    });
  });
});
