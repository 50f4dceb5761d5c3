/**
 * The RewardDistributor contract: per-studio budgets of RewardToken, paid out
 * by the studio's operator once per payout id.
 *
 * @module
 */
import { ChaosCoreError } from "@chaoscore/core";
import { keccak256, toUtf8Bytes } from "ethers";
import { toHash } from "./contract-args.js";
import { ContractClient, type ContractOptions } from "./contract-client.js";
import type { Address, Hex, Log, SentTransaction, TransactionReceipt } from "./types.js";

/** A studio of the distributor. */
export type StudioRecord = { readonly operator: Address; readonly budget: bigint };

/** The `PayoutExecuted` event. */
export type PayoutEvent = {
  readonly studioId: Hex;
  readonly payoutId: Hex;
  readonly operator: Address;
  readonly count: bigint;
  readonly total: bigint;
  readonly log: Log;
};

/** A studio id for the distributor: keccak256 of the studio's name (UTF-8). */
export function studioIdOf(name: string): Hex {
  if (typeof name !== "string" || name === "") {
    throw new ChaosCoreError("INVALID_INPUT", "a studio name must be a non-empty string");
  }
  return keccak256(toUtf8Bytes(name)) as Hex;
}

/**
 * The RewardDistributor contract.
 *
 * @example
 * ```ts
 * const sent = await distributor.payout({ studioId, payoutId, recipients, amounts });
 * // a retry of the same payoutId reverts with PayoutAlreadyExecuted: check isPaid first
 * ```
 */
export class RewardDistributorContract extends ContractClient<"RewardDistributor"> {
  constructor(options: ContractOptions) {
    super("RewardDistributor", options);
  }

  async createStudio(studioId: Hex, operator: Address): Promise<SentTransaction> {
    return await this.write("createStudio", [toHash(studioId, "studioId"), operator]);
  }

  async setOperator(studioId: Hex, operator: Address): Promise<SentTransaction> {
    return await this.write("setOperator", [toHash(studioId, "studioId"), operator]);
  }

  /** Moves `amount` from the signer (who approved the distributor) into the studio's budget. */
  async fund(studioId: Hex, amount: bigint): Promise<SentTransaction> {
    return await this.write("fund", [toHash(studioId, "studioId"), amount]);
  }

  async withdraw(studioId: Hex, to: Address, amount: bigint): Promise<SentTransaction> {
    return await this.write("withdraw", [toHash(studioId, "studioId"), to, amount]);
  }

  /**
   * Pays several recipients from the studio's budget (the signer must be its operator).
   * @throws ChaosCoreError INVALID_INPUT (lengths differ, before sending); CHAIN_REVERTED
   * (PayoutAlreadyExecuted, NotOperator, StudioNotFound, EmptyPayout, ZeroRecipient,
   * InsufficientBudget, LengthMismatch).
   */
  async payout(input: {
    studioId: Hex;
    payoutId: Hex | Uint8Array;
    recipients: readonly Address[];
    amounts: readonly bigint[];
  }): Promise<SentTransaction> {
    return await this.write("payout", [
      toHash(input.studioId, "studioId"),
      toHash(input.payoutId, "payoutId"),
      [...input.recipients],
      [...input.amounts],
    ]);
  }

  async studioOf(studioId: Hex): Promise<StudioRecord | undefined> {
    const [studio] = await this.read("studioOf", [toHash(studioId, "studioId")]);
    return /^0x0{40}$/.test(studio.operator)
      ? undefined
      : { operator: studio.operator, budget: studio.budget };
  }

  async isPaid(studioId: Hex, payoutId: Hex | Uint8Array): Promise<boolean> {
    return (
      await this.read("isPaid", [toHash(studioId, "studioId"), toHash(payoutId, "payoutId")])
    )[0];
  }

  payoutEvents(source: TransactionReceipt | readonly Log[]): PayoutEvent[] {
    return this.events("PayoutExecuted", source).map(({ args, log }) => ({
      studioId: args.studioId,
      payoutId: args.payoutId,
      operator: args.operator,
      count: args.count,
      total: args.total,
      log,
    }));
  }
}
