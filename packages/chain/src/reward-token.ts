/**
 * The ERC-20 RewardToken contract (minted by MINTER_ROLE, paid out through
 * the RewardDistributor).
 *
 * @module
 */
import { ContractClient, type ContractOptions } from "./contract-client.js";
import type { Address, SentTransaction } from "./types.js";

/** The ERC-20 RewardToken. */
export class RewardTokenContract extends ContractClient<"RewardToken"> {
  constructor(options: ContractOptions) {
    super("RewardToken", options);
  }

  /** @throws ChaosCoreError CHAIN_REVERTED (AccessControlUnauthorizedAccount, ERC20InvalidReceiver). */
  async mint(to: Address, amount: bigint): Promise<SentTransaction> {
    return await this.write("mint", [to, amount]);
  }

  async approve(spender: Address, amount: bigint): Promise<SentTransaction> {
    return await this.write("approve", [spender, amount]);
  }

  async transfer(to: Address, amount: bigint): Promise<SentTransaction> {
    return await this.write("transfer", [to, amount]);
  }

  async balanceOf(account: Address): Promise<bigint> {
    return (await this.read("balanceOf", [account]))[0];
  }

  async allowance(owner: Address, spender: Address): Promise<bigint> {
    return (await this.read("allowance", [owner, spender]))[0];
  }

  async totalSupply(): Promise<bigint> {
    return (await this.read("totalSupply"))[0];
  }
}
