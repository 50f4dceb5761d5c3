import { randomBytes } from "node:crypto";
import {
  type Address,
  AGENT_CARD_FORMAT,
  type AgentCard,
  agentCardHash,
  compileParser,
  deploymentAddress,
  type ErrorCode,
  type Hex,
  hexToBytes,
  isChaosCoreError,
  KeyRotationSchema,
  type MessageKind,
  privateKeyToAddress,
  publicKeyToAddress,
  signTypedMessage,
  type TypedMessage,
  verifyTypedMessage,
} from "@chaoscore/core";
import { openTestDb, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../store/db.js";
import { type AgentRecord, AgentRegistry } from "./index.js";

const CHAIN = 31337n;
const OTHER_CHAIN = 1n;
/** This registry's deployment, and another deployment on the same chain. */
const DEPLOYMENT = deploymentAddress("registry test A");
const OTHER_DEPLOYMENT = deploymentAddress("registry test B");
const START = new Date("2030-01-01T00:00:00.000Z");
const TABLES = [
  "agents",
  "agent_card_versions",
  "agent_keys",
  "agent_status_changes",
  "agent_challenges",
] as const;

type Key = { key: Uint8Array; address: Address };

function newKey(): Key {
  const key = Uint8Array.from(randomBytes(32));
  return { key, address: privateKeyToAddress(key) };
}

function makeCard(patch: Partial<AgentCard> = {}): AgentCard {
  return {
    format: AGENT_CARD_FORMAT,
    name: "Proposal Analyst",
    description: "Analyses DAO proposals and recommends a vote.",
    capabilities: ["governance.analyse", "governance.vote"],
    framework: "crewai",
    version: "1.0.0",
    endpoints: [{ name: "A2A", endpoint: "https://agent.example/.well-known/agent-card.json" }],
    codeMeasurement: null,
    owner: null,
    ...patch,
  };
}

function sign<K extends MessageKind>(
  kind: K,
  message: TypedMessage<K>,
  signer: Key,
  chainId = CHAIN,
  verifyingContract = DEPLOYMENT,
): Hex {
  return signTypedMessage(kind, message, { chainId, verifyingContract }, signer.key);
}

describe(`agent registry on ${TEST_DB_KIND}`, () => {
  let db: Db;
  let drop: () => Promise<void>;
  let clock: Date;
  let registry: AgentRegistry;

  const nowSeconds = () => Math.floor(clock.getTime() / 1000);
  const expiry = (delta = 3600) => String(nowSeconds() + delta);
  const advance = (seconds: number) => {
    clock = new Date(clock.getTime() + seconds * 1000);
  };

  beforeAll(async () => {
    ({ db, drop } = await openTestDb());
    clock = START;
    registry = new AgentRegistry({
      db,
      chainId: CHAIN,
      verifyingContract: DEPLOYMENT,
      now: () => clock,
    });
  });
  afterAll(() => drop());
  beforeEach(() => advance(1));

  /** Every registry row that a rejected call must leave alone. */
  async function snapshot() {
    const counts: Record<string, number> = {};
    for (const table of TABLES) {
      const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      counts[table] = Number(row?.n);
    }
    const agents = await db.query(
      `SELECT id, signer, public_key, status, card::text AS card, encode(card_hash, 'hex') AS hash,
         card_version, name, owner, capabilities::text AS caps, registry_nonce::text AS rn,
         action_nonce::text AS an, created_at::text AS c, updated_at::text AS u
       FROM agents ORDER BY id`,
    );
    const challenges = await db.query(
      `SELECT challenge, agent_id, expires_at::text AS e, answered_at::text AS a
       FROM agent_challenges ORDER BY challenge`,
    );
    return { counts, agents, challenges };
  }

  /** Runs `fn`, expects it to fail with `code`, and checks that no row changed. */
  async function expectRejected(code: ErrorCode, fn: () => Promise<unknown>): Promise<void> {
    const before = await snapshot();
    let error: unknown;
    try {
      await fn();
    } catch (e) {
      error = e;
    }
    expect(error, `expected ${code}`).toBeDefined();
    if (!isChaosCoreError(error)) throw error;
    expect(error.code).toBe(code);
    expect(await snapshot()).toEqual(before);
  }

  function registerRequest(
    agent: Key,
    options: {
      card?: unknown;
      cardHash?: Hex;
      nonce?: string;
      expiry?: string;
      chainId?: string;
      signer?: Key;
      signChain?: bigint;
    } = {},
  ) {
    const card = options.card ?? makeCard();
    const message = {
      agent: agent.address,
      cardHash: options.cardHash ?? agentCardHash(card as AgentCard),
      nonce: options.nonce ?? "1",
      expiry: options.expiry ?? expiry(),
    };
    return {
      chainId: options.chainId ?? CHAIN.toString(),
      card: card as AgentCard,
      message,
      signature: sign("RegisterAgent", message, options.signer ?? agent, options.signChain),
    };
  }

  async function registered(card = makeCard()): Promise<{ agent: Key; record: AgentRecord }> {
    const agent = newKey();
    const record = await registry.register(registerRequest(agent, { card }));
    return { agent, record };
  }

  function updateRequest(
    agent: Address,
    signer: Key,
    options: { card?: AgentCard; version?: string; nonce: string; expiry?: string },
  ) {
    const card = options.card ?? makeCard({ name: "Proposal Analyst II" });
    const message = {
      agent,
      cardHash: agentCardHash(card),
      version: options.version ?? "2",
      nonce: options.nonce,
      expiry: options.expiry ?? expiry(),
    };
    return {
      chainId: CHAIN.toString(),
      card,
      message,
      signature: sign("UpdateAgentCard", message, signer),
    };
  }

  function rotateRequest(
    agent: Address,
    oldKey: Key,
    newSigner: Key,
    options: { nonce: string; proofBy?: Key; expiry?: string },
  ) {
    const message = {
      agent,
      newSigner: newSigner.address,
      nonce: options.nonce,
      expiry: options.expiry ?? expiry(),
    };
    return {
      chainId: CHAIN.toString(),
      message,
      signature: sign("RotateAgentKey", message, oldKey),
      newKeyProof: sign("RotateAgentKey", message, options.proofBy ?? newSigner),
    };
  }

  function revokeRequest(agent: Address, signer: Key, nonce: string) {
    const message = { agent, nonce, expiry: expiry() };
    return {
      chainId: CHAIN.toString(),
      message,
      signature: sign("RevokeAgent", message, signer),
    };
  }

  function proveRequest(agent: Address, signer: Key, challenge: Hex, chainId = CHAIN) {
    const message = { agent, nonce: challenge, expiry: expiry(60) };
    return {
      chainId: CHAIN.toString(),
      message,
      signature: sign("ProveAgentControl", message, signer, chainId),
    };
  }

  describe("register", () => {
    it("registers an agent under its address, with the key it proved control of", async () => {
      const agent = newKey();
      const card = makeCard({ owner: newKey().address, codeMeasurement: `0x${"cd".repeat(32)}` });
      const request = registerRequest(agent, { card, nonce: "7" });
      const record = await registry.register(request);
      const at = clock.toISOString();
      expect(record).toEqual({
        identity: {
          id: agent.address,
          signer: agent.address,
          publicKey: expect.stringMatching(/^0x04[0-9a-f]{128}$/),
          status: "active",
          registryNonce: "7",
          createdAt: at,
          updatedAt: at,
        },
        metadata: { card, version: 1, cardHash: agentCardHash(card) },
      });
      expect(publicKeyToAddress(hexToBytes(record.identity.publicKey))).toBe(agent.address);
      expect(Object.keys(record.metadata.card)).toEqual(Object.keys(card));
      expect(await registry.get(agent.address)).toEqual(record);
      expect(await registry.get(agent.address.toUpperCase().replace("0X", "0x"))).toEqual(record);

      expect(await registry.cardHistory(agent.address)).toEqual([
        {
          version: 1,
          card,
          cardHash: agentCardHash(card),
          kind: "RegisterAgent",
          message: request.message,
          signature: request.signature,
          createdAt: at,
        },
      ]);
      expect(await registry.keyHistory(agent.address)).toEqual([
        { seq: 0, signer: agent.address, publicKey: record.identity.publicKey, createdAt: at },
      ]);
      expect(await registry.keyRotations(agent.address)).toEqual([]);
      expect(await registry.statusHistory(agent.address)).toEqual([
        {
          seq: 0,
          status: "active",
          reason: "registered",
          proof: { kind: "RegisterAgent", message: request.message, signature: request.signature },
          createdAt: at,
        },
      ]);
    });

    it("hashes the card canonically: key order does not matter", async () => {
      const agent = newKey();
      const card = makeCard();
      const reordered = Object.fromEntries(Object.entries(card).reverse()) as AgentCard;
      const record = await registry.register(registerRequest(agent, { card: reordered }));
      expect(record.metadata.cardHash).toBe(agentCardHash(card));
    });

    it("refuses a malformed card", async () => {
      const agent = newKey();
      const card = { ...makeCard(), capabilities: ["Not A Tag"] };
      await expectRejected("AGENT_CARD_INVALID", () =>
        registry.register(registerRequest(agent, { card, cardHash: agentCardHash(makeCard()) })),
      );
      await expectRejected("AGENT_CARD_INVALID", () =>
        registry.register({ ...registerRequest(agent), card: undefined as unknown as AgentCard }),
      );
    });

    it("refuses a card whose hash is not the signed one", async () => {
      const agent = newKey();
      await expectRejected("AGENT_CARD_HASH_MISMATCH", () =>
        registry.register(
          registerRequest(agent, { cardHash: agentCardHash(makeCard({ name: "other" })) }),
        ),
      );
    });

    it("refuses a signature by another key", async () => {
      const agent = newKey();
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        registry.register(registerRequest(agent, { signer: newKey() })),
      );
    });

    it("refuses a signature made for another chain", async () => {
      const agent = newKey();
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        registry.register(registerRequest(agent, { signChain: OTHER_CHAIN })),
      );
    });

    it("refuses a request for another chain", async () => {
      const agent = newKey();
      await expectRejected("AGENT_WRONG_CHAIN", () =>
        registry.register(
          registerRequest(agent, { chainId: OTHER_CHAIN.toString(), signChain: OTHER_CHAIN }),
        ),
      );
    });

    it("refuses an expired message (expiry must be after now)", async () => {
      const agent = newKey();
      await expectRejected("AGENT_EXPIRED", () =>
        registry.register(registerRequest(agent, { expiry: String(nowSeconds()) })),
      );
      await expectRejected("AGENT_EXPIRED", () =>
        registry.register(registerRequest(agent, { expiry: "0" })),
      );
    });

    it("refuses a second registration of the same id, whatever its nonce", async () => {
      const { agent } = await registered();
      await expectRejected("AGENT_ALREADY_REGISTERED", () =>
        registry.register(registerRequest(agent, { nonce: "1" })),
      );
      await expectRejected("AGENT_ALREADY_REGISTERED", () =>
        registry.register(registerRequest(agent, { nonce: "99", card: makeCard({ name: "x" }) })),
      );
    });

    it("refuses malformed requests with AGENT_REQUEST_MALFORMED", async () => {
      const agent = newKey();
      const good = registerRequest(agent);
      const bad: unknown[] = [
        null,
        { ...good, signature: undefined },
        { ...good, signature: "0x1234" },
        { ...good, chainId: 31337 },
        { ...good, extra: true },
        { ...good, message: { ...good.message, agent: agent.address.toUpperCase() } },
        { ...good, message: { ...good.message, nonce: "01" } },
        { ...good, message: { ...good.message, nonce: "99999999999999999999" } },
      ];
      for (const request of bad) {
        await expectRejected("AGENT_REQUEST_MALFORMED", () =>
          registry.register(request as Parameters<AgentRegistry["register"]>[0]),
        );
      }
    });

    it("refuses a non-canonical (high s) signature", async () => {
      const agent = newKey();
      const good = registerRequest(agent);
      const bytes = hexToBytes(good.signature);
      const n = BigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
      const s = BigInt(`0x${Buffer.from(bytes.subarray(32, 64)).toString("hex")}`);
      const highS = (n - s).toString(16).padStart(64, "0");
      const v = bytes[64] === 27 ? "1c" : "1b";
      const signature = `${good.signature.slice(0, 66)}${highS}${v}` as Hex;
      await expectRejected("AGENT_BAD_SIGNATURE", () => registry.register({ ...good, signature }));
    });
  });

  describe("deployment binding (EIP-712 verifyingContract)", () => {
    // Deployment B: the same chain, the same agents table, another deployment.
    const other = () =>
      new AgentRegistry({
        db,
        chainId: CHAIN,
        verifyingContract: OTHER_DEPLOYMENT,
        now: () => clock,
      });

    it("refuses at deployment B a registration, card update, rotation and revocation signed for A", async () => {
      const b = other();
      const fresh = newKey();
      await expectRejected("AGENT_BAD_SIGNATURE", () => b.register(registerRequest(fresh)));
      const { agent } = await registered();
      const id = agent.address;
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        b.updateCard(updateRequest(id, agent, { nonce: "2" })),
      );
      // (the new key's proof is checked first: it too was signed for A)
      await expectRejected("AGENT_KEY_PROOF_INVALID", () =>
        b.rotateKey(rotateRequest(id, agent, newKey(), { nonce: "2" })),
      );
      await expectRejected("AGENT_BAD_SIGNATURE", () => b.revoke(revokeRequest(id, agent, "2")));
      // Signed for A, they are accepted at A.
      await registry.revoke(revokeRequest(id, agent, "2"));
      expect((await registry.get(id)).identity.status).toBe("revoked");
    });

    it("accepts at B what is signed for B", async () => {
      const b = other();
      const agent = newKey();
      const request = registerRequest(agent);
      const message = request.message;
      const signature = sign("RegisterAgent", message, agent, CHAIN, OTHER_DEPLOYMENT);
      expect((await b.register({ ...request, signature })).identity.id).toBe(agent.address);
    });
  });

  describe("get", () => {
    it("refuses an unknown or malformed id", async () => {
      await expect(registry.get(newKey().address)).rejects.toMatchObject({
        code: "AGENT_NOT_FOUND",
      });
      await expect(registry.get("not-an-address")).rejects.toMatchObject({
        code: "AGENT_NOT_FOUND",
      });
      for (const read of [
        (id: string) => registry.cardHistory(id),
        (id: string) => registry.keyHistory(id),
        (id: string) => registry.keyRotations(id),
        (id: string) => registry.statusHistory(id),
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

      const all = await registry.list({ capability: tag });
      expect(all.items.map((r) => r.identity.id)).toEqual(expected);
      expect(all.nextCursor).toBeNull();

      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await registry.list(
          cursor === undefined
            ? { capability: tag, limit: 2 }
            : { capability: tag, limit: 2, cursor },
        );
        pages.push(page.items.map((r) => r.identity.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 1]);
      expect(pages.flat()).toEqual(expected);

      const byOwner = await registry.list({ owner: owner.toUpperCase().replace("0X", "0x") });
      expect(byOwner.items.map((r) => r.identity.id)).toEqual(owned);
      expect(
        (await registry.list({ capability: tag, text: "100%_" })).items.map((r) => r.identity.id),
      ).toEqual([later.identity.id]);
      expect((await registry.list({ capability: tag, text: "0%x" })).items).toEqual([]);
      expect(
        (await registry.list({ capability: tag, text: "solidity" })).items.map(
          (r) => r.identity.id,
        ),
      ).toEqual([last.identity.id]);
      expect(
        (await registry.list({ capability: "extra" })).items.map((r) => r.identity.id),
      ).toEqual([later.identity.id]);

      await registry.suspend(later.identity.id, "check");
      expect(
        (await registry.list({ capability: tag, status: "suspended" })).items.map(
          (r) => r.identity.id,
        ),
      ).toEqual([later.identity.id]);
      expect((await registry.list({ capability: tag, status: "active" })).items).toHaveLength(6);

      const firstDefault = await registry.list();
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
          registry.list(query as Parameters<AgentRegistry["list"]>[0]),
        ).rejects.toMatchObject({ code: "AGENT_REQUEST_MALFORMED" });
      }
    });
  });

  describe("updateCard", () => {
    it("replaces the card, bumps the version and keeps the history", async () => {
      const { agent, record } = await registered();
      const card2 = makeCard({ name: "v2", capabilities: ["governance.vote", "simulate"] });
      const request = updateRequest(agent.address, agent, { card: card2, nonce: "2" });
      const updated = await registry.updateCard(request);
      expect(updated.metadata).toEqual({ card: card2, version: 2, cardHash: agentCardHash(card2) });
      expect(updated.identity).toEqual({
        ...record.identity,
        registryNonce: "2",
        updatedAt: clock.toISOString(),
      });
      advance(1);
      const card3 = makeCard({ name: "v3" });
      await registry.updateCard(
        updateRequest(agent.address, agent, { card: card3, version: "3", nonce: "10" }),
      );
      const history = await registry.cardHistory(agent.address);
      expect(history.map((h) => [h.version, h.kind, h.card.name])).toEqual([
        [1, "RegisterAgent", "Proposal Analyst"],
        [2, "UpdateAgentCard", "v2"],
        [3, "UpdateAgentCard", "v3"],
      ]);
      expect(history[1]).toMatchObject({ message: request.message, signature: request.signature });
      expect((await registry.get(agent.address)).metadata.version).toBe(3);
    });

    it("refuses a wrong version, a stale nonce, another key, an unknown agent", async () => {
      const { agent } = await registered();
      const id = agent.address;
      await expectRejected("AGENT_VERSION_INVALID", () =>
        registry.updateCard(updateRequest(id, agent, { version: "1", nonce: "2" })),
      );
      await expectRejected("AGENT_VERSION_INVALID", () =>
        registry.updateCard(updateRequest(id, agent, { version: "3", nonce: "2" })),
      );
      await expectRejected("AGENT_NONCE_NOT_INCREASING", () =>
        registry.updateCard(updateRequest(id, agent, { nonce: "1" })),
      );
      await expectRejected("AGENT_NONCE_NOT_INCREASING", () =>
        registry.updateCard(updateRequest(id, agent, { nonce: "0" })),
      );
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        registry.updateCard(updateRequest(id, newKey(), { nonce: "2" })),
      );
      await expectRejected("AGENT_EXPIRED", () =>
        registry.updateCard(updateRequest(id, agent, { nonce: "2", expiry: String(nowSeconds()) })),
      );
      const stranger = newKey();
      await expectRejected("AGENT_NOT_FOUND", () =>
        registry.updateCard(updateRequest(stranger.address, stranger, { nonce: "2" })),
      );
      const good = updateRequest(id, agent, { nonce: "2" });
      await expectRejected("AGENT_CARD_HASH_MISMATCH", () =>
        registry.updateCard({ ...good, card: makeCard({ name: "swapped" }) }),
      );
      await expectRejected("AGENT_CARD_INVALID", () =>
        registry.updateCard({ ...good, card: { ...good.card, name: "" } }),
      );
      await expectRejected("AGENT_WRONG_CHAIN", () =>
        registry.updateCard({ ...good, chainId: "1" }),
      );
      // The same request is accepted once, then is a replay.
      await registry.updateCard(good);
      await expectRejected("AGENT_NONCE_NOT_INCREASING", () => registry.updateCard(good));
      await expectRejected("AGENT_NONCE_NOT_INCREASING", () =>
        registry.updateCard(updateRequest(id, agent, { version: "3", nonce: "2" })),
      );
    });

    it("accepts exactly one of concurrent conflicting writes", async () => {
      const agent = newKey();
      const registrations = await Promise.allSettled(
        Array.from({ length: 4 }, (_, i) =>
          registry.register(registerRequest(agent, { nonce: String(i + 1) })),
        ),
      );
      expect(registrations.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of registrations) {
        if (r.status === "rejected") expect(r.reason.code).toBe("AGENT_ALREADY_REGISTERED");
      }
      const nonce = BigInt((await registry.get(agent.address)).identity.registryNonce);
      const updates = await Promise.allSettled(
        Array.from({ length: 4 }, (_, i) =>
          registry.updateCard(
            updateRequest(agent.address, agent, {
              card: makeCard({ name: `racer ${i}` }),
              nonce: String(nonce + 1n + BigInt(i)),
            }),
          ),
        ),
      );
      expect(updates.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of updates) {
        if (r.status === "rejected") {
          expect(["AGENT_VERSION_INVALID", "AGENT_NONCE_NOT_INCREASING"]).toContain(r.reason.code);
        }
      }
      expect(await registry.cardHistory(agent.address)).toHaveLength(2);
    });

    it("refuses updates by a suspended or revoked agent", async () => {
      const { agent } = await registered();
      await registry.suspend(agent.address, "investigation");
      await expectRejected("AGENT_NOT_ACTIVE", () =>
        registry.updateCard(updateRequest(agent.address, agent, { nonce: "2" })),
      );
      await registry.revokeByOperator(agent.address, "confirmed abuse");
      await expectRejected("AGENT_NOT_ACTIVE", () =>
        registry.updateCard(updateRequest(agent.address, agent, { nonce: "2" })),
      );
    });
  });

  describe("rotateKey", () => {
    it("rotates to a key the agent proved it holds, and links each key to the id", async () => {
      const { agent, record } = await registered();
      const id = agent.address;
      const key1 = newKey();
      const r1 = rotateRequest(id, agent, key1, { nonce: "2" });
      const rotated = await registry.rotateKey(r1);
      expect(rotated.identity).toMatchObject({ id, signer: key1.address, registryNonce: "2" });
      expect(publicKeyToAddress(hexToBytes(rotated.identity.publicKey))).toBe(key1.address);
      expect(rotated.metadata).toEqual(record.metadata);

      advance(1);
      const key2 = newKey();
      const r2 = rotateRequest(id, key1, key2, { nonce: "3" });
      await registry.rotateKey(r2);

      expect((await registry.keyHistory(id)).map((k) => [k.seq, k.signer])).toEqual([
        [0, id],
        [1, key1.address],
        [2, key2.address],
      ]);
      const chain = await registry.keyRotations(id);
      expect(chain).toEqual([
        { message: r1.message, signature: r1.signature },
        { message: r2.message, signature: r2.signature },
      ]);
      expect(await registry.keyRotations(id, key2.address)).toEqual(chain);
      expect(await registry.keyRotations(id, key1.address)).toEqual(chain.slice(0, 1));
      expect(await registry.keyRotations(id, id)).toEqual([]);

      // What an offline verifier does with a receipt's rotations.
      const parseRotation = compileParser(KeyRotationSchema, "INVALID_INPUT", "rotation");
      let signer: Address = id;
      for (const rotation of chain) {
        const { message, signature } = parseRotation(rotation);
        verifyTypedMessage(
          "RotateAgentKey",
          message,
          { chainId: CHAIN, verifyingContract: DEPLOYMENT },
          signature as Hex,
          signer,
        );
        expect(message.agent).toBe(id);
        signer = message.newSigner;
      }
      expect(signer).toBe(key2.address);

      // The old keys no longer act for the agent; the new one does.
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        registry.updateCard(updateRequest(id, agent, { nonce: "4" })),
      );
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        registry.updateCard(updateRequest(id, key1, { nonce: "4" })),
      );
      const updated = await registry.updateCard(updateRequest(id, key2, { nonce: "4" }));
      expect(updated.metadata.version).toBe(2);
    });

    it("refuses a rotation without a valid proof by the new key", async () => {
      const { agent } = await registered();
      const id = agent.address;
      const next = newKey();
      const { newKeyProof: _omit, ...withoutProof } = rotateRequest(id, agent, next, {
        nonce: "2",
      });
      await expectRejected("AGENT_REQUEST_MALFORMED", () =>
        registry.rotateKey(withoutProof as Parameters<AgentRegistry["rotateKey"]>[0]),
      );
      await expectRejected("AGENT_KEY_PROOF_INVALID", () =>
        registry.rotateKey(rotateRequest(id, agent, next, { nonce: "2", proofBy: newKey() })),
      );
      await expectRejected("AGENT_KEY_PROOF_INVALID", () =>
        registry.rotateKey(rotateRequest(id, agent, next, { nonce: "2", proofBy: agent })),
      );
      const good = rotateRequest(id, agent, next, { nonce: "2" });
      await expectRejected("AGENT_KEY_PROOF_INVALID", () =>
        registry.rotateKey({ ...good, newKeyProof: `0x${"00".repeat(65)}` }),
      );
    });

    it("refuses a rotation not signed by the current key, replays and key reuse", async () => {
      const { agent } = await registered();
      const id = agent.address;
      const next = newKey();
      // Signed by the new key only.
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        registry.rotateKey(rotateRequest(id, next, next, { nonce: "2" })),
      );
      await expectRejected("AGENT_NONCE_NOT_INCREASING", () =>
        registry.rotateKey(rotateRequest(id, agent, next, { nonce: "1" })),
      );
      await expectRejected("AGENT_EXPIRED", () =>
        registry.rotateKey(rotateRequest(id, agent, next, { nonce: "2", expiry: "1" })),
      );
      await expectRejected("AGENT_KEY_REUSED", () =>
        registry.rotateKey(rotateRequest(id, agent, agent, { nonce: "2" })),
      );
      const good = rotateRequest(id, agent, next, { nonce: "2" });
      await registry.rotateKey(good);
      await expectRejected("AGENT_BAD_SIGNATURE", () => registry.rotateKey(good));
      await expectRejected("AGENT_KEY_REUSED", () =>
        registry.rotateKey(rotateRequest(id, next, agent, { nonce: "3" })),
      );
      const stranger = newKey();
      await expectRejected("AGENT_NOT_FOUND", () =>
        registry.rotateKey(rotateRequest(stranger.address, stranger, newKey(), { nonce: "2" })),
      );
      await expect(registry.keyRotations(id, newKey().address)).rejects.toMatchObject({
        code: "AGENT_SIGNER_UNKNOWN",
      });
      await expect(registry.keyRotations(id, "nope")).rejects.toMatchObject({
        code: "AGENT_REQUEST_MALFORMED",
      });
    });

    it("refuses rotation by a suspended or revoked agent", async () => {
      const { agent } = await registered();
      await registry.suspend(agent.address, "investigation");
      await expectRejected("AGENT_NOT_ACTIVE", () =>
        registry.rotateKey(rotateRequest(agent.address, agent, newKey(), { nonce: "2" })),
      );
      await registry.revoke(revokeRequest(agent.address, agent, "2"));
      await expectRejected("AGENT_NOT_ACTIVE", () =>
        registry.rotateKey(rotateRequest(agent.address, agent, newKey(), { nonce: "3" })),
      );
    });
  });

  describe("status", () => {
    it("suspends, reactivates and revokes, recording every change", async () => {
      const { agent } = await registered();
      const id = agent.address;
      expect((await registry.suspend(id, "too many failures")).identity.status).toBe("suspended");
      expect((await registry.reactivate(id, "fixed")).identity.status).toBe("active");
      const revoked = await registry.revokeByOperator(id, "key leaked");
      expect(revoked.identity).toMatchObject({ status: "revoked", registryNonce: "1" });
      expect(
        (await registry.statusHistory(id)).map((c) => [c.seq, c.status, c.reason, c.proof]),
      ).toEqual([
        [0, "active", "registered", expect.objectContaining({ kind: "RegisterAgent" })],
        [1, "suspended", "too many failures", null],
        [2, "active", "fixed", null],
        [3, "revoked", "key leaked", null],
      ]);
    });

    it("lets an agent revoke itself, even when suspended", async () => {
      const { agent } = await registered();
      const id = agent.address;
      await registry.suspend(id, "check");
      const request = revokeRequest(id, agent, "5");
      const revoked = await registry.revoke(request);
      expect(revoked.identity).toMatchObject({ status: "revoked", registryNonce: "5" });
      const history = await registry.statusHistory(id);
      expect(history[2]).toEqual({
        seq: 2,
        status: "revoked",
        reason: "revoked by the agent",
        proof: { kind: "RevokeAgent", message: request.message, signature: request.signature },
        createdAt: clock.toISOString(),
      });
    });

    it("refuses invalid transitions: revoked is terminal", async () => {
      const { agent } = await registered();
      const id = agent.address;
      await expectRejected("AGENT_STATUS_TRANSITION_INVALID", () => registry.reactivate(id, "x"));
      await registry.suspend(id, "x");
      await expectRejected("AGENT_STATUS_TRANSITION_INVALID", () => registry.suspend(id, "x"));
      await registry.revokeByOperator(id, "x");
      for (const change of [
        () => registry.suspend(id, "x"),
        () => registry.reactivate(id, "x"),
        () => registry.revokeByOperator(id, "x"),
        () => registry.revoke(revokeRequest(id, agent, "2")),
      ]) {
        await expectRejected("AGENT_STATUS_TRANSITION_INVALID", change);
      }
    });

    it("refuses a self-revocation by another key, a stale nonce or an unknown agent", async () => {
      const { agent } = await registered();
      const id = agent.address;
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        registry.revoke(revokeRequest(id, newKey(), "2")),
      );
      await expectRejected("AGENT_NONCE_NOT_INCREASING", () =>
        registry.revoke(revokeRequest(id, agent, "1")),
      );
      const stranger = newKey();
      await expectRejected("AGENT_NOT_FOUND", () =>
        registry.revoke(revokeRequest(stranger.address, stranger, "2")),
      );
      await expectRejected("AGENT_NOT_FOUND", () => registry.suspend(stranger.address, "x"));
      await expectRejected("AGENT_REQUEST_MALFORMED", () => registry.suspend(id, "r".repeat(1001)));
      await expectRejected("AGENT_REQUEST_MALFORMED", () =>
        registry.suspend(id, undefined as unknown as string),
      );
    });
  });

  describe("challenges", () => {
    it("proves control of the current key, once", async () => {
      const { agent } = await registered();
      const id = agent.address;
      const { challenge, expiresAt } = await registry.createChallenge(id);
      expect(challenge).toMatch(/^0x[0-9a-f]{64}$/);
      expect(expiresAt).toBe(new Date(clock.getTime() + 300_000).toISOString());
      const request = proveRequest(id, agent, challenge);
      expect(await registry.verify(request)).toEqual({
        agent: id,
        signer: id,
        status: "active",
        verifiedAt: clock.toISOString(),
      });
      await expectRejected("AGENT_CHALLENGE_INVALID", () => registry.verify(request));
    });

    it("refuses an expired, unknown or foreign challenge, and another key", async () => {
      const { agent } = await registered();
      const { agent: other } = await registered();
      const id = agent.address;

      const short = await registry.createChallenge(id, 10);
      advance(10);
      await expectRejected("AGENT_CHALLENGE_INVALID", () =>
        registry.verify(proveRequest(id, agent, short.challenge)),
      );
      await expectRejected("AGENT_CHALLENGE_INVALID", () =>
        registry.verify(proveRequest(id, agent, `0x${randomBytes(32).toString("hex")}`)),
      );

      const { challenge } = await registry.createChallenge(id);
      await expectRejected("AGENT_CHALLENGE_INVALID", () =>
        registry.verify(proveRequest(other.address, other, challenge)),
      );
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        registry.verify(proveRequest(id, other, challenge)),
      );
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        registry.verify(proveRequest(id, agent, challenge, OTHER_CHAIN)),
      );
      const expired = { ...proveRequest(id, agent, challenge) };
      expired.message = { ...expired.message, expiry: String(nowSeconds()) };
      expired.signature = sign("ProveAgentControl", expired.message, agent);
      await expectRejected("AGENT_EXPIRED", () => registry.verify(expired));
      // Still unanswered: the right answer works.
      expect((await registry.verify(proveRequest(id, agent, challenge))).signer).toBe(id);
    });

    it("follows key rotation and refuses revoked or unknown agents", async () => {
      const { agent } = await registered();
      const id = agent.address;
      const next = newKey();
      await registry.rotateKey(rotateRequest(id, agent, next, { nonce: "2" }));
      const { challenge } = await registry.createChallenge(id);
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        registry.verify(proveRequest(id, agent, challenge)),
      );
      expect(await registry.verify(proveRequest(id, next, challenge))).toMatchObject({
        agent: id,
        signer: next.address,
      });

      const pending = await registry.createChallenge(id);
      await registry.revokeByOperator(id, "done");
      await expectRejected("AGENT_NOT_ACTIVE", () => registry.createChallenge(id));
      await expectRejected("AGENT_NOT_ACTIVE", () =>
        registry.verify(proveRequest(id, next, pending.challenge)),
      );
      await expectRejected("AGENT_NOT_FOUND", () => registry.createChallenge(newKey().address));
      for (const ttl of [0, -1, 1.5, 86_401]) {
        await expectRejected("AGENT_REQUEST_MALFORMED", () => registry.createChallenge(id, ttl));
      }
    });
  });

  describe("signingState", () => {
    it("returns signer, status and action nonce of known agents", async () => {
      const { agent: a } = await registered();
      const { agent: b } = await registered();
      const next = newKey();
      await registry.rotateKey(rotateRequest(b.address, b, next, { nonce: "2" }));
      await registry.suspend(b.address, "x");
      // Proof of Agency owns action_nonce; simulate one accepted action.
      await db.query("UPDATE agents SET action_nonce = $2::numeric WHERE id = $1", [
        a.address,
        "18446744073709551615",
      ]);
      const unknown = newKey().address;
      const state = await registry.signingState([a.address, b.address, unknown, a.address]);
      expect([...state.entries()].sort()).toEqual(
        [
          [a.address, { signer: a.address, status: "active", actionNonce: 18446744073709551615n }],
          [b.address, { signer: next.address, status: "suspended", actionNonce: null }],
        ].sort(),
      );
      const inTx = await db.transaction((tx) => registry.signingState([b.address], tx));
      expect(inTx.get(b.address)).toEqual(state.get(b.address));
      expect((await registry.signingState([])).size).toBe(0);
      await expect(registry.signingState("nope" as unknown as string[])).rejects.toMatchObject({
        code: "AGENT_REQUEST_MALFORMED",
      });
    });
  });
});
