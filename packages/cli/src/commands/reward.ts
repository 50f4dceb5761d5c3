/**
 * `chaoscore reward pay`: ERC-20 rewards through the RewardDistributor, each
 * payout recorded as a `reward.payout` action signed by the operator agent.
 * @module
 */
import { type ChaosCoreContracts, studioIdOf } from "@chaoscore/chain";
import { keyInfo, unlockKey } from "../data-dir.js";
import { withEngine } from "../engine-context.js";
import { info, out, printFields, printJson, UsageError } from "../output.js";
import type { Globals } from "../program.js";
import { openChain } from "./chain.js";

type PayOptions = {
  studio: string;
  payoutId: string;
  to: string[];
  key: string;
  fund?: boolean;
  json?: boolean;
};

/** `<agent|key name>=<amount>` → address and amount. */
async function parseRecipient(
  dataDir: string,
  spec: string,
): Promise<{ agent: string; amount: bigint }> {
  const m = /^([^=]+)=([0-9]{1,78})$/.exec(spec);
  if (m === null) throw new UsageError(`--to ${spec}: expected <agent id or key name>=<amount>`);
  const [, who, amount] = m as unknown as [string, string, string];
  const agent = /^0x[0-9a-fA-F]{40}$/.test(who)
    ? who.toLowerCase()
    : (await keyInfo(dataDir, who)).address;
  if (BigInt(amount) === 0n) throw new UsageError(`--to ${spec}: the amount must be positive`);
  return { agent, amount: BigInt(amount) };
}

/** `chaoscore reward pay --studio s --payout-id p --to <agent>=<amount>… [--key operator] [--fund]`. */
export async function runRewardPay({ dataDir }: Globals, opts: PayOptions): Promise<void> {
  if (opts.to.length === 0) throw new UsageError("give at least one --to <agent>=<amount>");
  const recipients = await Promise.all(opts.to.map((t) => parseRecipient(dataDir, t)));
  const operator = await unlockKey(dataDir, opts.key);
  const chain = await openChain(dataDir);
  try {
    const contracts = chain.contracts as ChaosCoreContracts;
    if (opts.fund === true) {
      // Local convenience: create the studio (chain key as operator) and fund it with new tokens.
      const studioId = studioIdOf(opts.studio);
      if ((await contracts.distributor.studioOf(studioId)) === undefined) {
        await (await contracts.distributor.createStudio(studioId, chain.signer.address)).wait();
      }
      const total = recipients.reduce((sum, r) => sum + r.amount, 0n);
      await (await contracts.token.mint(chain.signer.address, total)).wait();
      await (await contracts.token.approve(contracts.distributor.address, total)).wait();
      await (await contracts.distributor.fund(studioId, total)).wait();
      info(`studio ${opts.studio} funded with ${total}`);
    }
    const { RewardService } = await import("@chaoscore/anchoring");
    const payout = await withEngine(dataDir, ({ engine, db, chainId }) =>
      new RewardService({
        db,
        agency: engine.agency,
        registry: engine.registry,
        client: chain.client,
        distributor: contracts.distributor,
        operator: { privateKey: operator.privateKey },
        chainId,
      }).pay({ studio: opts.studio, payoutId: opts.payoutId, recipients }),
    );
    if (opts.json === true) return printJson(payout);
    out(payout.duplicate ? "✓ already paid (nothing sent)" : "✓ reward paid");
    printFields(
      [
        ["payout", `${payout.payload.payoutId} in studio ${opts.studio}`],
        ["tx", payout.txHash],
        ["token", payout.payload.token],
        ...payout.payload.recipients.map(
          (r, i) => [`to ${r}`, payout.payload.amounts[i]] as [string, unknown],
        ),
        ["action", `${payout.actionId} (reward.payout), leaf ${payout.leafIndex}`],
      ],
      "  ",
    );
  } finally {
    chain.close();
  }
}
