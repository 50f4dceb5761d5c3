/** The RewardToken and RewardDistributor contracts on a real anvil. */
import { isChaosCoreError, sha256Hex } from "@chaoscore/core";
import { Interface, ZeroAddress } from "ethers";
import { describe, expect, it } from "vitest";
import { loadArtifact } from "./artifacts.js";
import { studioIdOf } from "./reward-distributor.js";
import { expectCode, expectRevert, useTestChain } from "./test-support/chain.js";
import { useGasReport } from "./test-support/gas-report.js";
import type { Hex } from "./types.js";

const chain = useTestChain();
const recordGas = useGasReport();
const h32 = (text: string): Hex => sha256Hex(text);

// ---- RewardToken and RewardDistributor ----------------------------------------------------------

describe("RewardToken and RewardDistributor", () => {
  const studioId = studioIdOf("governance");
  const payoutId = h32("payout 1");

  it("mints only with MINTER_ROLE", async () => {
    const { token } = chain.contracts;
    const other = await chain.as(chain.others[1]!);
    await expectRevert(
      other.token.mint(chain.others[1]!.address, 1n),
      "AccessControlUnauthorizedAccount",
    );
    recordGas("RewardToken.mint", await (await token.mint(chain.deployer.address, 10_000n)).wait());
    expect(await token.balanceOf(chain.deployer.address)).toBe(10_000n);
  });

  it("creates studios (admin only, once, with an operator)", async () => {
    const { distributor } = chain.contracts;
    const other = await chain.as(chain.others[1]!);
    await expectRevert(
      other.distributor.createStudio(studioId, chain.deployer.address),
      "AccessControlUnauthorizedAccount",
    );
    await expectRevert(distributor.createStudio(studioId, ZeroAddress as Hex), "ZeroAddress");
    const r = await (await distributor.createStudio(studioId, chain.deployer.address)).wait();
    expect(distributor.decodeEvents(r)[0]).toMatchObject({
      name: "StudioCreated",
      args: { studioId },
    });
    await expectRevert(distributor.createStudio(studioId, chain.deployer.address), "StudioExists");
    expect(await distributor.studioOf(studioId)).toEqual({
      operator: chain.deployer.address,
      budget: 0n,
    });
    expect(await distributor.studioOf(studioIdOf("none"))).toBeUndefined();
  });

  it("funds a budget by transferFrom", async () => {
    const { distributor, token } = chain.contracts;
    await expectRevert(distributor.fund(studioIdOf("none"), 1n), "StudioNotFound");
    await expectRevert(distributor.fund(studioId, 0n), "ZeroAmount");
    await expectRevert(distributor.fund(studioId, 1_000n), "ERC20InsufficientAllowance");
    await (await token.approve(distributor.address, 5_000n)).wait();
    const r = recordGas(
      "RewardDistributor.fund",
      await (await distributor.fund(studioId, 5_000n)).wait(),
    );
    expect(distributor.decodeEvents(r).find((e) => e.name === "Funded")?.args).toMatchObject({
      amount: 5_000n,
      budget: 5_000n,
    });
    expect((await distributor.studioOf(studioId))?.budget).toBe(5_000n);
  });

  it("pays out once per payout id, by the operator, within the budget", async () => {
    const { distributor, token } = chain.contracts;
    const [a, b, c] = [
      chain.others[5]!.address,
      chain.others[6]!.address,
      chain.others[7]!.address,
    ];
    const other = await chain.as(chain.others[1]!);
    await expectRevert(
      other.distributor.payout({ studioId, payoutId, recipients: [a], amounts: [1n] }),
      "NotOperator",
      { caller: chain.others[1]!.address },
    );
    await expectRevert(
      distributor.payout({
        studioId: studioIdOf("none"),
        payoutId,
        recipients: [a],
        amounts: [1n],
      }),
      "StudioNotFound",
    );
    await expectRevert(
      distributor.payout({ studioId, payoutId, recipients: [], amounts: [] }),
      "EmptyPayout",
    );
    await expectRevert(
      distributor.payout({ studioId, payoutId, recipients: [a, b], amounts: [1n] }),
      "LengthMismatch",
      {
        recipients: "2",
        amounts: "1",
      },
    );
    await expectRevert(
      distributor.payout({
        studioId,
        payoutId,
        recipients: [a, ZeroAddress as Hex],
        amounts: [1n, 1n],
      }),
      "ZeroRecipient",
      { index: "1" },
    );
    await expectRevert(
      distributor.payout({ studioId, payoutId, recipients: [a, b], amounts: [3_000n, 3_000n] }),
      "InsufficientBudget",
      { budget: "5000", requested: "6000" },
    );
    expect(await distributor.isPaid(studioId, payoutId)).toBe(false);
    const receipt = recordGas(
      "RewardDistributor.payout (3 recipients)",
      await (
        await distributor.payout({
          studioId,
          payoutId,
          recipients: [a, b, c],
          amounts: [100n, 200n, 300n],
        })
      ).wait(),
    );
    expect(distributor.payoutEvents(receipt)).toMatchObject([
      { studioId, payoutId, count: 3n, total: 600n },
    ]);
    expect([await token.balanceOf(a), await token.balanceOf(b), await token.balanceOf(c)]).toEqual([
      100n,
      200n,
      300n,
    ]);
    expect(await distributor.isPaid(studioId, payoutId)).toBe(true);
    await expectRevert(
      distributor.payout({ studioId, payoutId, recipients: [a], amounts: [1n] }),
      "PayoutAlreadyExecuted",
      { studioId, payoutId },
    );
    expect((await distributor.studioOf(studioId))?.budget).toBe(4_400n);
  });

  it("withdraws and hands over the studio (operator or admin)", async () => {
    const { distributor } = chain.contracts;
    const other = await chain.as(chain.others[1]!);
    await expectRevert(
      other.distributor.withdraw(studioId, chain.deployer.address, 1n),
      "NotOperator",
    );
    await expectRevert(distributor.withdraw(studioId, ZeroAddress as Hex, 1n), "ZeroAddress");
    await expectRevert(
      distributor.withdraw(studioId, chain.deployer.address, 10_000n),
      "InsufficientBudget",
    );
    await (await distributor.withdraw(studioId, chain.deployer.address, 400n)).wait();
    expect((await distributor.studioOf(studioId))?.budget).toBe(4_000n);
    await expectRevert(
      other.distributor.setOperator(studioId, chain.others[1]!.address),
      "NotOperator",
    );
    await expectRevert(distributor.setOperator(studioId, ZeroAddress as Hex), "ZeroAddress");
    await expectRevert(
      distributor.setOperator(studioIdOf("none"), chain.others[1]!.address),
      "StudioNotFound",
    );
    await (await distributor.setOperator(studioId, chain.others[1]!.address)).wait();
    const r = await (
      await other.distributor.payout({
        studioId,
        payoutId: h32("p2"),
        recipients: [chain.others[8]!.address],
        amounts: [5n],
      })
    ).wait();
    expect(other.distributor.payoutEvents(r)[0]?.operator).toBe(chain.others[1]!.address);
  });

  it("refuses a zero token or admin at deployment", async () => {
    const artifact = loadArtifact("RewardDistributor");
    const data =
      `${artifact.bytecode}${new Interface(artifact.abi as never).encodeDeploy([ZeroAddress, chain.deployer.address]).slice(2)}` as Hex;
    const e = await expectCode(
      chain.client.sendTransaction(chain.deployer, { data }),
      "CHAIN_REVERTED",
    );
    expect(e.details?.error).toBe("ZeroAddress");
    expect(isChaosCoreError(e)).toBe(true);
  });
});
