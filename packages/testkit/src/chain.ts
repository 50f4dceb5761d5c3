/**
 * One real anvil per test file (as viem's test/setup.global.ts): started in
 * beforeAll, stopped in afterAll, with the contracts deployed
 * (`@chaoscore/testkit/chain`; an engine anchoring on it: `openAnchoringTestEngine`).
 * @module
 */
import {
  type AnvilInstance,
  type ChaosCoreContracts,
  type Deployments,
  deployContracts,
  EthereumClient,
  LocalSigner,
  openContracts,
  type StartAnvilOptions,
  startAnvil,
} from "@chaoscore/chain";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { expectCode } from "./expect-code.js";

export type TestChain = {
  anvil: AnvilInstance;
  client: EthereumClient;
  /** Anvil dev account 0: deployer, admin, anchorer, minter. */
  deployer: LocalSigner;
  /** Anvil dev accounts 1..9 (funded). */
  others: LocalSigner[];
  deployments: Deployments;
  /** The wrappers, signing as the deployer. */
  contracts: ChaosCoreContracts;
  /** The wrappers signing as `signer`. */
  as(signer: LocalSigner): Promise<ChaosCoreContracts>;
};

/** Registers beforeAll/afterAll hooks; the returned object is filled in beforeAll. */
export function useTestChain(options: StartAnvilOptions & { deploy?: boolean } = {}): TestChain {
  const chain = {} as TestChain;
  beforeAll(async () => {
    chain.anvil = await startAnvil(options);
    chain.client = await EthereumClient.connect({
      rpcUrl: chain.anvil.rpcUrl,
      chainId: chain.anvil.chainId,
      pollIntervalMs: 20,
      retry: { attempts: 4, baseDelayMs: 50 },
    });
    const [first, ...rest] = chain.anvil.accounts.map((a) =>
      LocalSigner.fromPrivateKey(a.privateKey),
    );
    chain.deployer = first as LocalSigner;
    chain.others = rest;
    if (options.deploy !== false) {
      chain.deployments = await deployContracts(chain.client, chain.deployer);
      chain.contracts = await openContracts(chain.client, chain.deployments, chain.deployer);
    }
    chain.as = (signer) => openContracts(chain.client, chain.deployments, signer);
  });
  afterAll(async () => {
    chain.client?.close();
    await chain.anvil?.stop();
  });
  // A test that fails (a timeout waiting for a transaction, say) prints the
  // chain's state: a nonce gap or a stuck pool shows here.
  beforeEach((ctx) => {
    ctx.onTestFailed(async () => {
      if (chain.anvil !== undefined) console.error(await describeChain(chain));
    });
  });
  return chain;
}

/** The test chain's head, the deployer's nonces, the pool and anvil's last output. */
async function describeChain(chain: TestChain): Promise<string> {
  const ask = async (method: string, params: unknown[] = []) => {
    try {
      return JSON.stringify(
        await Promise.race([
          chain.client.request(method, params),
          new Promise((_, reject) => setTimeout(() => reject(new Error("no answer in 2 s")), 2000)),
        ]),
      );
    } catch (e) {
      return `(${e instanceof Error ? e.message : String(e)})`;
    }
  };
  const deployer = chain.deployer?.address;
  return [
    `anvil on port ${chain.anvil.port} (pid ${chain.anvil.pid ?? "none"}) after a failed test:`,
    `  block ${await ask("eth_blockNumber")}; txpool ${await ask("txpool_status")}`,
    `  deployer ${deployer} nonce latest ${await ask("eth_getTransactionCount", [deployer, "latest"])}, pending ${await ask("eth_getTransactionCount", [deployer, "pending"])}`,
    "  anvil's last output:",
    ...chain.anvil.output().map((line) => `    ${line}`),
  ].join("\n");
}

export { expectCode };

/** Awaits `promise`, expects CHAIN_REVERTED with the custom error `error`, and returns its args. */
export async function expectRevert(
  promise: Promise<unknown>,
  error: string,
  args?: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const e = await expectCode(promise, "CHAIN_REVERTED");
  expect(e.details?.error, e.message).toBe(error);
  const got = (e.details?.args ?? {}) as Record<string, unknown>;
  if (args !== undefined) expect(got).toMatchObject(args);
  return got;
}
