/**
 * Rewards: ERC-20 payouts to agents through the RewardDistributor, each one
 * also recorded as a `reward.payout` action in the log, signed by the
 * operator agent. Idempotent per (studio, payout id). See docs/anchoring.md.
 *
 * @module
 */
import {
  type BlockchainClient,
  type RewardDistributorContract,
  type RewardTokenContract,
  type SentTransaction,
  studioIdOf,
} from "@chaoscore/chain";
import {
  type Address,
  ChaosCoreError,
  type Hex,
  isHex,
  keccak256Hex,
  privateKeyToAddress,
  signAction,
} from "@chaoscore/core";
import type { AgentRegistry, Db, ProofOfAgency } from "@chaoscore/log";

/** The action type of a payout record. */
export const REWARD_ACTION_TYPE = "reward.payout";

/** The payload of a `reward.payout` action. */
export type RewardPayoutPayload = {
  readonly payoutId: string;
  /** keccak256 of the payout id (the distributor's bytes32 payout id). */
  readonly payoutKey: Hex;
  readonly studioId: Hex;
  readonly txHash: Hex;
  readonly recipients: readonly Address[];
  /** Decimal strings (token base units). */
  readonly amounts: readonly string[];
  readonly token: Address;
  readonly distributor: Address;
  readonly chainId: string;
};

/** The result of {@link RewardService.pay}. */
export type RewardPayout = {
  /** The `reward.payout` action. */
  readonly actionId: Hex;
  readonly leafIndex: number;
  readonly txHash: Hex;
  readonly payload: RewardPayoutPayload;
  /** True when this payout had been paid and recorded before (nothing was sent). */
  readonly duplicate: boolean;
};

/** Options of {@link RewardService}. */
export type RewardServiceOptions = {
  readonly db: Db;
  readonly agency: ProofOfAgency;
  readonly registry: AgentRegistry;
  readonly client: BlockchainClient;
  /** The distributor wrapper, signing as the studios' operator. */
  readonly distributor: RewardDistributorContract;
  /** The operator agent: a registered agent whose key signs the payout actions. */
  readonly operator: { readonly privateKey: Uint8Array };
  /** The chain id actions are signed for (the engine's). */
  readonly chainId: bigint;
  /** Confirmations to wait for the payout transaction; default 1. */
  readonly confirmations?: number;
  readonly now?: () => Date;
};

/**
 * Pays rewards and records them.
 *
 * @example
 * ```ts
 * const rewards = new RewardService({ db, agency, registry, client, distributor, operator, chainId });
 * await rewards.pay({ studio: "governance", payoutId: "round-1", recipients: [{ agent, amount: 10n }] });
 * ```
 */
export class RewardService {
  readonly #o: RewardServiceOptions;
  readonly #operator: Address;
  #lock: Promise<unknown> = Promise.resolve();

  constructor(options: RewardServiceOptions) {
    this.#o = options;
    this.#operator = privateKeyToAddress(options.operator.privateKey);
  }

  /**
   * Adds `amount` tokens to a studio's budget in the distributor, creating the
   * studio there first (operated by the distributor wrapper's signer) when it
   * is missing: mint to the signer (who must hold the token's minter role),
   * approve, fund. Not idempotent: each call adds to the budget.
   * @throws ChaosCoreError INVALID_INPUT (an amount that is not a positive
   * integer), CHAIN_REVERTED (AccessControlUnauthorizedAccount — the signer
   * may not mint —, NotOperator), CHAIN_INSUFFICIENT_FUNDS, CHAIN_RPC_UNREACHABLE.
   */
  async fundStudio(input: {
    studio: string;
    amount: bigint;
    token: RewardTokenContract;
    signer: Address;
  }): Promise<{ studioId: Hex; budget: bigint; txHashes: Hex[] }> {
    const { studio, amount, token, signer } = input;
    if (typeof amount !== "bigint" || amount <= 0n || amount >= 1n << 256n) {
      throw new ChaosCoreError("INVALID_INPUT", "the amount is a positive integer");
    }
    const studioId = studioIdOf(studio);
    const distributor = this.#o.distributor;
    const confirmations = this.#o.confirmations ?? 1;
    const txHashes: Hex[] = [];
    const send = async (tx: Promise<SentTransaction>) => {
      const sent = await tx;
      await sent.wait({ confirmations });
      txHashes.push(sent.hash);
    };
    if ((await distributor.studioOf(studioId)) === undefined) {
      await send(distributor.createStudio(studioId, signer));
    }
    await send(token.mint(signer, amount));
    await send(token.approve(distributor.address, amount));
    await send(distributor.fund(studioId, amount));
    const record = await distributor.studioOf(studioId);
    return { studioId, budget: record?.budget ?? 0n, txHashes };
  }

  /**
   * Pays `recipients` from the studio's budget and records the payout as a
   * `reward.payout` action. A payout id already recorded returns its first
   * record; one already paid on chain (a crash before recording) is recorded
   * without paying again.
   * @throws ChaosCoreError INVALID_INPUT (an empty payout, a bad amount or payout id),
   * AGENT_NOT_FOUND (a recipient or the operator is not registered), CHAIN_REVERTED
   * (NotOperator, StudioNotFound, InsufficientBudget, …), CHAIN_INSUFFICIENT_FUNDS,
   * CHAIN_RPC_UNREACHABLE, CHAIN_TIMEOUT, and the errors of recording an action.
   */
  pay(input: {
    studio: string;
    payoutId: string;
    recipients: readonly { agent: string; amount: bigint }[];
  }): Promise<RewardPayout> {
    const run = this.#lock.then(
      () => this.#pay(input),
      () => this.#pay(input),
    );
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #pay(input: {
    studio: string;
    payoutId: string;
    recipients: readonly { agent: string; amount: bigint }[];
  }): Promise<RewardPayout> {
    const { studio, payoutId } = input;
    if (typeof studio !== "string" || studio === "") {
      throw new ChaosCoreError("INVALID_INPUT", "a payout needs a studio name");
    }
    if (typeof payoutId !== "string" || payoutId === "" || payoutId.length > 200) {
      throw new ChaosCoreError("INVALID_INPUT", "a payout id is a string of 1 to 200 characters");
    }
    if (!Array.isArray(input.recipients) || input.recipients.length === 0) {
      throw new ChaosCoreError("INVALID_INPUT", "a payout needs at least one recipient");
    }
    const recipients: Address[] = [];
    const amounts: bigint[] = [];
    for (const [i, r] of input.recipients.entries()) {
      if (typeof r.amount !== "bigint" || r.amount <= 0n) {
        throw new ChaosCoreError("INVALID_INPUT", `recipient ${i}: the amount must be positive`);
      }
      const agent = String(r.agent).toLowerCase();
      if (!isHex(agent, 20)) {
        throw new ChaosCoreError("INVALID_INPUT", `recipient ${i}: not an agent id (an address)`);
      }
      recipients.push((await this.#o.registry.get(agent)).identity.id as Address);
      amounts.push(r.amount);
    }
    await this.#o.registry.get(this.#operator);

    // Recorded before: the first record is the answer.
    const prior = await this.#recorded(studio, payoutId);
    if (prior !== undefined) return { ...prior, duplicate: true };

    const studioId = studioIdOf(studio);
    const payoutKey = isHex(payoutId, 32) ? (payoutId as Hex) : keccak256Hex(payoutId);
    const distributor = this.#o.distributor;
    let txHash: Hex;
    if (await distributor.isPaid(studioId, payoutKey)) {
      // Paid before a crash: find the payout's transaction instead of paying again.
      const [event] = await distributor.queryEvents("PayoutExecuted", {
        args: { studioId, payoutId: payoutKey },
      });
      if (event === undefined) {
        throw new ChaosCoreError(
          "CHAIN_RPC_ERROR",
          `payout ${payoutId} is paid on chain but its PayoutExecuted event is not found`,
          { details: { studioId, payoutId: payoutKey } },
        );
      }
      txHash = event.log.transactionHash;
    } else {
      const sent = await distributor.payout({
        studioId,
        payoutId: payoutKey,
        recipients,
        amounts,
      });
      await sent.wait({ confirmations: this.#o.confirmations ?? 1 });
      txHash = sent.hash;
    }
    const [token] = await distributor.read("token");
    const payload: RewardPayoutPayload = {
      payoutId,
      payoutKey,
      studioId,
      txHash,
      recipients,
      amounts: amounts.map(String),
      token: String(token).toLowerCase() as Address,
      distributor: distributor.address.toLowerCase() as Address,
      chainId: this.#o.client.chainId.toString(),
    };
    const [state] = (await this.#o.registry.signingState([this.#operator])).values();
    const nonce = (state?.actionNonce ?? 0n) + 1n;
    const now = this.#o.now?.() ?? new Date();
    const signed = signAction({
      privateKey: this.#o.operator.privateKey,
      chainId: this.#o.chainId,
      verifyingContract: this.#o.agency.verifyingContract,
      actionType: REWARD_ACTION_TYPE,
      nonce,
      studio,
      task: payoutId,
      payload,
      timestamp: Math.floor(now.getTime() / 1000),
    });
    const recorded = await this.#o.agency.recordAction({ entry: signed.entry, payload });
    return {
      actionId: recorded.id,
      leafIndex: recorded.leafIndex,
      txHash,
      payload,
      duplicate: false,
    };
  }

  /** The recorded payout action of (studio, payout id), if any. */
  async #recorded(
    studio: string,
    payoutId: string,
  ): Promise<Omit<RewardPayout, "duplicate"> | undefined> {
    const [row] = await this.#o.db.query<{ id: string; leaf_index: number; payload: string }>(
      `SELECT encode(id, 'hex') AS id, leaf_index, convert_from(payload, 'UTF8') AS payload
       FROM actions WHERE action_type = $1 AND studio = $2 AND task = $3 AND agent_id = $4
       ORDER BY leaf_index LIMIT 1`,
      [REWARD_ACTION_TYPE, studio, payoutId, this.#operator],
    );
    if (row === undefined) return undefined;
    const payload = JSON.parse(row.payload) as RewardPayoutPayload;
    return {
      actionId: `0x${row.id}`,
      leafIndex: Number(row.leaf_index),
      txHash: payload.txHash,
      payload,
    };
  }
}
