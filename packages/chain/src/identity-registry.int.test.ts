/** The ERC-8004-style IdentityRegistry contract on a real anvil. */
import { sha256Hex } from "@chaoscore/core";
import { ZeroAddress } from "ethers";
import { describe, expect, it } from "vitest";
import { expectRevert, useTestChain } from "./test-support/chain.js";
import { useGasReport } from "./test-support/gas-report.js";
import type { Hex } from "./types.js";

const chain = useTestChain();
const recordGas = useGasReport();
const h32 = (text: string): Hex => sha256Hex(text);

// ---- IdentityRegistry ---------------------------------------------------------------------------

describe("IdentityRegistry", () => {
  const cardHash = h32("card v1");
  let agentId: bigint;

  it("registers an agent with its card: ERC-721 token, Registered and CardUpdated events", async () => {
    const { identity } = chain.contracts;
    const receipt = recordGas(
      "IdentityRegistry.register(uri, cardHash)",
      await (await identity.register({ uri: "https://agents.example/a.json", cardHash })).wait(),
    );
    const [registered] = identity.registeredEvents(receipt);
    expect(registered).toMatchObject({
      agentURI: "https://agents.example/a.json",
      owner: chain.deployer.address,
    });
    agentId = registered!.agentId;
    expect(identity.cardUpdatedEvents(receipt)[0]).toMatchObject({
      agentId,
      version: 1n,
      cardHash,
    });
    expect(await identity.ownerOf(agentId)).toBe(chain.deployer.address);
    expect(await identity.tokenURI(agentId)).toBe("https://agents.example/a.json");
    expect(await identity.cardOf(agentId)).toMatchObject({ hash: cardHash, version: 1n });
    expect(await identity.getAgentWallet(agentId)).toBe(chain.deployer.address);
    expect(await identity.totalAgents()).toBe(agentId + 1n);
  });

  it("keeps the ERC-8004 register overloads", async () => {
    const { identity } = chain.contracts;
    const r1 = await (await identity.write("register()", [])).wait();
    expect(identity.registeredEvents(r1)[0]?.agentURI).toBe("");
    const r2 = await (await identity.write("register(string)", ["ipfs://card"])).wait();
    const id2 = identity.registeredEvents(r2)[0]!.agentId;
    expect(await identity.cardOf(id2)).toMatchObject({ hash: `0x${"0".repeat(64)}`, version: 0n });
    const r3 = await (
      await identity.write("register(string,(string,bytes)[])", ["ipfs://m", [["team", "0x01"]]])
    ).wait();
    const id3 = identity.registeredEvents(r3)[0]!.agentId;
    expect(await identity.getMetadata(id3, "team")).toBe("0x01");
    await expectRevert(
      identity.write("register(string,(string,bytes)[])", ["ipfs://m", [["agentWallet", "0x01"]]]),
      "ReservedMetadataKey",
      { key: "agentWallet" },
    );
    await expectRevert(
      identity.register({ uri: "x", cardHash: `0x${"0".repeat(64)}` }),
      "EmptyCardHash",
    );
  });

  it("updates the card with version + 1 only, by the owner only", async () => {
    const { identity } = chain.contracts;
    const v2 = h32("card v2");
    await expectRevert(
      identity.updateCard({ agentId, uri: "u2", cardHash: v2, version: 3 }),
      "CardVersionMismatch",
      { expected: "2", given: "3" },
    );
    await expectRevert(
      identity.updateCard({ agentId, uri: "u2", cardHash: `0x${"0".repeat(64)}`, version: 2 }),
      "EmptyCardHash",
    );
    const other = await chain.as(chain.others[1]!);
    await expectRevert(
      other.identity.updateCard({ agentId, uri: "u2", cardHash: v2, version: 2 }),
      "NotAuthorized",
      {
        caller: chain.others[1]!.address,
      },
    );
    await expectRevert(
      identity.updateCard({ agentId: 999n, uri: "u", cardHash: v2, version: 1 }),
      "ERC721NonexistentToken",
      {
        tokenId: "999",
      },
    );
    const receipt = recordGas(
      "IdentityRegistry.updateCard",
      await (
        await identity.updateCard({
          agentId,
          uri: "https://agents.example/a2.json",
          cardHash: v2,
          version: 2,
        })
      ).wait(),
    );
    expect(identity.cardUpdatedEvents(receipt)[0]).toMatchObject({ version: 2n, cardHash: v2 });
    expect(identity.decodeEvents(receipt).map((e) => e.name)).toEqual([
      "MetadataUpdate",
      "URIUpdated",
      "CardUpdated",
    ]);
    await expectRevert(
      identity.updateCard({ agentId, uri: "u", cardHash: v2, version: 2 }),
      "CardVersionMismatch",
    );
    await expectRevert(identity.cardOf(999n), "ERC721NonexistentToken");
  });

  it("sets the URI and metadata (owner only; agentWallet reserved)", async () => {
    const { identity } = chain.contracts;
    const other = await chain.as(chain.others[1]!);
    await expectRevert(other.identity.setAgentURI(agentId, "x"), "NotAuthorized");
    await (await identity.setAgentURI(agentId, "https://moved.example/a.json")).wait();
    expect(await identity.tokenURI(agentId)).toBe("https://moved.example/a.json");
    expect((await identity.cardOf(agentId)).version).toBe(2n);
    await expectRevert(identity.setMetadata(agentId, "agentWallet", "0x01"), "ReservedMetadataKey");
    await expectRevert(other.identity.setMetadata(agentId, "k", "0x01"), "NotAuthorized");
    const r = await (await identity.setMetadata(agentId, "k", "0xabcd")).wait();
    expect(identity.decodeEvents(r)[0]).toMatchObject({
      name: "MetadataSet",
      args: { metadataKey: "k", metadataValue: "0xabcd" },
    });
    expect(await identity.getMetadata(agentId, "k")).toBe("0xabcd");
  });

  it("sets the agent wallet with the wallet's EIP-712 consent; a transfer clears it", async () => {
    const { identity } = chain.contracts;
    const wallet = chain.others[2]!;
    const now = (await chain.client.getBlock())!.timestamp;
    const deadline = now + 120n;
    const signature = await identity.signAgentWallet(wallet, {
      agentId,
      owner: chain.deployer.address,
      deadline,
    });
    await expectRevert(
      identity.setAgentWallet({ agentId, wallet: ZeroAddress as Hex, deadline, signature }),
      "ZeroWallet",
    );
    await expectRevert(
      identity.setAgentWallet({ agentId, wallet: wallet.address, deadline: now - 10n, signature }),
      "SignatureExpired",
    );
    await expectRevert(
      identity.setAgentWallet({
        agentId,
        wallet: wallet.address,
        deadline: now + 3600n,
        signature,
      }),
      "DeadlineTooFar",
    );
    const other = await chain.as(chain.others[1]!);
    await expectRevert(
      other.identity.setAgentWallet({ agentId, wallet: wallet.address, deadline, signature }),
      "NotAuthorized",
    );
    const wrong = await identity.signAgentWallet(chain.others[3]!, {
      agentId,
      owner: chain.deployer.address,
      deadline,
    });
    await expectRevert(
      identity.setAgentWallet({ agentId, wallet: wallet.address, deadline, signature: wrong }),
      "InvalidWalletSignature",
      { wallet: wallet.address },
    );
    recordGas(
      "IdentityRegistry.setAgentWallet",
      await (
        await identity.setAgentWallet({ agentId, wallet: wallet.address, deadline, signature })
      ).wait(),
    );
    expect(await identity.getAgentWallet(agentId)).toBe(wallet.address);
    expect(await identity.getMetadata(agentId, "agentWallet")).toBe(wallet.address.toLowerCase());
    await (
      await identity.write("transferFrom", [
        chain.deployer.address,
        chain.others[4]!.address,
        agentId,
      ])
    ).wait();
    expect(await identity.getAgentWallet(agentId)).toBe(ZeroAddress);
    expect(await identity.ownerOf(agentId)).toBe(chain.others[4]!.address);
  });
});
