/**
 * A read URL that is no replica of the primary (ATTACK18): another database
 * on the primary's server — here another deployment's schema, with a log of
 * its own — must never answer the gateway's reads. Needs a Postgres server
 * (DATABASE_URL); a real streaming replica is tested in
 * `@chaoscore/testkit`'s replica.int.test.ts and reliability/replica.int.test.ts.
 */
import { createReadEngine } from "@chaoscore/engine";
import { openReplica } from "@chaoscore/log";
import { MockTeeProvider } from "@chaoscore/sandbox";
import { CHAIN_ID, openTestEngine } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGateway, type GatewayApp } from "./app.js";
import { gatewayServices } from "./services.js";

const URL = process.env.DATABASE_URL;

describe.skipIf(URL === undefined || URL === "")(
  `a read URL that is not a replica of the primary${URL ? "" : " (skipped: needs DATABASE_URL)"}`,
  () => {
    let ours: Awaited<ReturnType<typeof openTestEngine>>;
    let foreign: Awaited<ReturnType<typeof openTestEngine>>;
    let app: GatewayApp;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ours = await openTestEngine();
      foreign = await openTestEngine();
      // the other deployment's log has two leaves and a checkpoint of them; ours has none
      let commit = () => {};
      await foreign.engine.db.transaction(async (tx) => {
        commit = (
          await foreign.engine.log.appendInTransaction(tx, [Uint8Array.of(1), Uint8Array.of(2)])
        ).commit;
      });
      commit();
      const [row] = await foreign.engine.db.query<{ schema: string }>(
        "SELECT current_schema() AS schema",
      );
      const replica = openReplica(URL as string, { schema: row?.schema as string });
      const reads = createReadEngine(ours.engine, replica, { chainId: CHAIN_ID.toString() });
      app = await buildGateway({
        ...gatewayServices({
          engine: ours.engine,
          chainId: CHAIN_ID,
          tee: MockTeeProvider.create(),
        }),
        logger: false,
        reads,
      });
      await app.ready();
      close = async () => {
        await app.close();
        await reads.close();
      };
    }, 60_000);
    afterAll(async () => {
      await close?.();
      await foreign?.close();
      await ours?.close();
    });

    it("reads the primary, never the other database, and says why", async () => {
      for (const url of ["/v1/log/checkpoint", "/v1/log/checkpoint?log=default"]) {
        const r = await app.inject({ method: "GET", url });
        expect(r.statusCode).toBe(200);
        expect(r.headers["chaoscore-read"]).toBe("primary");
        expect(r.json()).toMatchObject({ size: 0, verifierKey: ours.verifierKey });
      }
      const tile = await app.inject({ method: "GET", url: "/v1/logs/default/checkpoint" });
      expect(tile.headers["chaoscore-read"]).toBe("primary");
      expect(tile.body.split("\n")[1]).toBe("0");

      const ready = await app.inject({ method: "GET", url: "/readyz" });
      expect(ready.statusCode).toBe(200);
      expect(ready.json().checks.replica).toMatch(
        /^unavailable, reads go to the primary: .*not a streaming replica/,
      );
      const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
      expect(metrics).toMatch(/^chaoscore_replica_up 0$/m);
      expect(metrics).toMatch(/^chaoscore_replica_lag_bytes -1$/m);
    });
  },
);
