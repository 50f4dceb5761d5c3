import {
  type AnvilInstance,
  type ChaosCoreContracts,
  deployContracts,
  EthereumClient,
  LocalSigner,
  openContracts,
  startAnvil,
  studioIdOf,
} from "@chaoscore/chain";
import { isChaosCoreError, keccak256Hex, verifyReceipt } from "@chaoscore/core";
import { openTestEngine, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REWARD_ACTION_TYPE, RewardService } from "./reward-service.js";

let anvil: AnvilInstance;
let client: EthereumClient;
let contracts: ChaosCoreContracts;
let t: Awaited<ReturnType<typeof openTestEngine>>;

beforeAll(async () => {
  anvil = await startAnvil();
  client = await EthereumClient.connect({
    rpcUrl: anvil.rpcUrl,
    chainId: anvil.chainId,
    pollIntervalMs: 20,
  });
  const deployer = LocalSigner.fromPrivateKey(anvil.accounts[0]?.privateKey as string);
  contracts = await openContracts(client, await deployContracts(client, deployer), deployer);
  const studio = studioIdOf("governance");
  await (await contracts.distributor.createStudio(studio, deployer.address)).wait();
  await (await contracts.token.mint(deployer.address, 1000n)).wait();
  await (await contracts.token.approve(contracts.distributor.address, 1000n)).wait();
  await (await contracts.distributor.fund(studio, 1000n)).wait();
  t = await openTestEngine();
});

afterAll(async () => {
  await t?.close();
  client?.close();
  await anvil?.stop();
});

describe(`RewardService on anvil (${TEST_DB_KIND})`, () => {
  it("pays through the distributor, logs the payout as an action, and is idempotent per payout id", async () => {
    const operator = await t.newAgent();
    const alice = await t.newAgent();
    const bob = await t.newAgent();
    const rewards = new RewardService({
      db: t.db,
      agency: t.engine.agency,
      registry: t.engine.registry,
      client,
      distributor: contracts.distributor,
      operator: { privateKey: operator.privateKey },
      chainId: 31337n,
    });
    const input = {
      studio: "governance",
      payoutId: "round-1",
      recipients: [
        { agent: alice.address, amount: 30n },
        { agent: bob.address, amount: 20n },
      ],
    };
    const paid = await rewards.pay(input);
    expect(paid.duplicate).toBe(false);
    expect(await contracts.token.balanceOf(alice.address)).toBe(30n);
    expect(await contracts.token.balanceOf(bob.address)).toBe(20n);
    expect(paid.payload).toMatchObject({
      payoutId: "round-1",
      payoutKey: keccak256Hex("round-1"),
      recipients: [alice.address, bob.address],
      amounts: ["30", "20"],
      token: contracts.token.address.toLowerCase(),
    });
    const action = await t.engine.agency.getAction(paid.actionId);
    expect(action).toMatchObject({
      actionType: REWARD_ACTION_TYPE,
      studio: "governance",
      task: "round-1",
      agent: operator.address,
    });
    const receipt = await t.engine.agency.getReceipt(paid.actionId);
    expect(receipt.payload).toEqual(paid.payload);
    verifyReceipt(receipt, t.verifierKey);

    // Again: the first record, nothing paid twice.
    const again = await rewards.pay(input);
    expect(again).toMatchObject({ duplicate: true, actionId: paid.actionId, txHash: paid.txHash });
    expect(await contracts.token.balanceOf(alice.address)).toBe(30n);

    // Paid on chain before a crash, never recorded: recorded without paying again.
    const key = keccak256Hex("round-2");
    const sent = await contracts.distributor.payout({
      studioId: studioIdOf("governance"),
      payoutId: key,
      recipients: [alice.address],
      amounts: [5n],
    });
    await sent.wait();
    const recovered = await rewards.pay({
      ...input,
      payoutId: "round-2",
      recipients: [{ agent: alice.address, amount: 5n }],
    });
    expect(recovered).toMatchObject({ duplicate: false, txHash: sent.hash });
    expect(await contracts.token.balanceOf(alice.address)).toBe(35n);

    // Coded errors: an unknown agent, an over-budget payout (reverted, nothing logged).
    const before = (await t.engine.agency.query({ actionType: REWARD_ACTION_TYPE })).items.length;
    await expect(
      rewards.pay({
        ...input,
        payoutId: "x",
        recipients: [{ agent: LocalSigner.random().address, amount: 1n }],
      }),
    ).rejects.toSatisfy((e) => isChaosCoreError(e, "AGENT_NOT_FOUND"));
    await expect(
      rewards.pay({
        ...input,
        payoutId: "y",
        recipients: [{ agent: bob.address, amount: 10_000n }],
      }),
    ).rejects.toSatisfy(
      (e) => isChaosCoreError(e, "CHAIN_REVERTED") && e.details?.error === "InsufficientBudget",
    );
    expect((await t.engine.agency.query({ actionType: REWARD_ACTION_TYPE })).items).toHaveLength(
      before,
    );
  });
});
