import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startAnvil } from "./anvil.js";
import { CheckpointAnchorContract } from "./checkpoint-anchor.js";
import {
  connectChain,
  deployContracts,
  deploymentsPath,
  loadDeployments,
  openContracts,
  writeDeployments,
} from "./deploy.js";
import { EthereumClient } from "./ethereum-client.js";
import { LocalSigner } from "./signer.js";
import { expectCode, useTestChain } from "./test-support/chain.js";
import type { Hex } from "./types.js";

const chain = useTestChain({ deploy: false });
const dir = mkdtempSync(join(tmpdir(), "chaoscore-chain-"));

describe("EthereumClient", () => {
  it("reads chain id, block number, balances, code and blocks", async () => {
    const { client, deployer } = chain;
    expect(client.chainId).toBe(31337n);
    expect(await client.getBlockNumber()).toBeGreaterThanOrEqual(0n);
    expect(await client.getBalance(deployer.address)).toBeGreaterThan(10n ** 21n);
    expect(await client.getCode(deployer.address)).toBe("0x");
    const block = await client.getBlock("latest");
    expect(block?.hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await client.getBlock(10n ** 9n)).toBeUndefined();
    expect(JSON.stringify(client)).toBe(
      `{"chainId":"31337","rpcUrl":"http://127.0.0.1:${chain.anvil.port}"}`,
    );
  });

  it("sends EIP-1559 transactions and waits for N confirmations", async () => {
    const { client, deployer, others } = chain;
    const sent = await client.sendTransaction(deployer, { to: others[0]!.address, value: 1n });
    expect(sent.request.type).toBe(2);
    expect(sent.request.maxFeePerGas).toBeGreaterThan(0n);
    const waiting = sent.wait({ confirmations: 3, timeoutMs: 10_000 });
    await client.request("anvil_mine", ["0x2"]);
    const receipt = await waiting;
    expect(receipt.status).toBe("success");
    expect((await client.getBlockNumber()) - receipt.blockNumber + 1n).toBeGreaterThanOrEqual(3n);
    await expectCode(
      (await client.sendTransaction(deployer, { to: others[0]!.address, value: 1n })).wait({
        confirmations: 5,
        timeoutMs: 300,
      }),
      "CHAIN_TIMEOUT",
    );
  });

  it("prices EIP-1559 fees as 2 × base fee + the node's priority fee, or the priority fee alone without a base fee", async () => {
    const { client, deployer, others } = chain;
    const block = await client.getBlock("latest");
    const tip = BigInt(await client.request<Hex>("eth_maxPriorityFeePerGas"));
    const sent = await client.sendTransaction(deployer, { to: others[2]!.address, value: 1n });
    expect(sent.request.maxPriorityFeePerGas).toBe(tip);
    expect(sent.request.maxFeePerGas).toBe(2n * (block?.baseFeePerGas ?? -1n) + tip);
    await sent.wait();
    // A caller's priority fee replaces the node's, on top of the same 2 × base fee.
    const base = (await client.getBlock("latest"))?.baseFeePerGas ?? -1n;
    const given = await client.sendTransaction(deployer, {
      to: others[2]!.address,
      maxPriorityFeePerGas: 3n,
    });
    expect(given.request.maxPriorityFeePerGas).toBe(3n);
    expect(given.request.maxFeePerGas).toBe(2n * base + 3n);
    await given.wait();

    const flat = await startAnvil({ args: ["--base-fee", "0"] });
    const flatClient = await EthereumClient.connect({ rpcUrl: flat.rpcUrl, pollIntervalMs: 20 });
    try {
      expect((await flatClient.getBlock("latest"))?.baseFeePerGas).toBe(0n);
      const signer = LocalSigner.fromPrivateKey(flat.accounts[0]!.privateKey);
      const free = await flatClient.sendTransaction(signer, { to: flat.accounts[1]!.address });
      expect(free.request.maxFeePerGas).toBe(free.request.maxPriorityFeePerGas);
      expect((await free.wait()).status).toBe("success");
    } finally {
      flatClient.close();
      await flat.stop();
    }
  });

  it("gives concurrent sends distinct, gapless nonces, and all of them mine", async () => {
    const { client, deployer, others } = chain;
    const start = await client.getTransactionCount(deployer.address, "pending");
    const sends = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        client.sendTransaction(deployer, { to: others[i % 5]!.address, value: BigInt(i + 1) }),
      ),
    );
    const nonces = sends.map((s) => s.nonce).sort((a, b) => a - b);
    expect(nonces).toEqual(Array.from({ length: 25 }, (_, i) => start + i));
    const receipts = await Promise.all(sends.map((s) => s.wait()));
    expect(receipts.every((r) => r.status === "success")).toBe(true);
  });

  it("uses up no nonce on a refused send: concurrent sends around it stay gapless and mine", async () => {
    const { client, deployer, others } = chain;
    const start = await client.getTransactionCount(deployer.address, "pending");
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        client.sendTransaction(
          deployer,
          // #4 offers a fee below the base fee: the node refuses it after its nonce was chosen.
          i === 4
            ? { to: others[0]!.address, value: 1n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }
            : { to: others[0]!.address, value: 1n },
        ),
      ),
    );
    const refused = results[4];
    expect(refused?.status).toBe("rejected");
    expect((refused as PromiseRejectedResult).reason.code).toBe("CHAIN_TX_REJECTED");
    const sent = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    expect(sent.map((s) => s.nonce).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 9 }, (_, i) => start + i),
    );
    const receipts = await Promise.all(sent.map((s) => s.wait({ timeoutMs: 10_000 })));
    expect(receipts.every((r) => r.status === "success")).toBe(true);
    expect(await client.getTransactionCount(deployer.address, "latest")).toBe(start + 9);
  });

  it("recovers from `nonce too low` when another client used the key", async () => {
    const { client, deployer, others } = chain;
    await (await client.sendTransaction(deployer, { to: others[1]!.address, value: 1n })).wait();
    const other = await EthereumClient.connect({ rpcUrl: chain.anvil.rpcUrl, pollIntervalMs: 20 });
    try {
      await (await other.sendTransaction(deployer, { to: others[1]!.address, value: 1n })).wait();
      await (await other.sendTransaction(deployer, { to: others[1]!.address, value: 1n })).wait();
    } finally {
      other.close();
    }
    // `client` still believes in its old nonce: the node says "nonce too low", the client re-reads it
    const receipt = await (
      await client.sendTransaction(deployer, { to: others[1]!.address, value: 1n })
    ).wait();
    expect(receipt.status).toBe("success");
  });

  it("refuses a wrong chain id with both ids", async () => {
    const e = await expectCode(
      EthereumClient.connect({ rpcUrl: chain.anvil.rpcUrl, chainId: 1n }),
      "CHAIN_WRONG_CHAIN",
    );
    expect(e.details).toMatchObject({ expected: "1", actual: "31337" });
  });

  it("reports an unreachable RPC as CHAIN_RPC_UNREACHABLE after retries", async () => {
    const e = await expectCode(
      EthereumClient.connect({
        rpcUrl: "http://127.0.0.1:9",
        retry: { attempts: 2, baseDelayMs: 10 },
      }),
      "CHAIN_RPC_UNREACHABLE",
    );
    expect(e.details).toMatchObject({ method: "eth_chainId", attempts: 2 });
    await expectCode(EthereumClient.connect({ rpcUrl: "ftp://x" }), "INVALID_INPUT");
  });

  it("reports an unfunded key as CHAIN_INSUFFICIENT_FUNDS with its balance", async () => {
    const poor = LocalSigner.random();
    const e = await expectCode(
      chain.client.sendTransaction(poor, { to: chain.deployer.address, value: 1n }),
      "CHAIN_INSUFFICIENT_FUNDS",
    );
    expect(e.details).toMatchObject({ from: poor.address, balance: "0" });
  });

  it("retries HTTP 429 with its own bounded policy only (ethers' 12-attempt retry is off)", async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.writeHead(429, { "content-type": "text/plain" }).end("slow down");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const e = await expectCode(
        EthereumClient.connect({
          rpcUrl: `http://127.0.0.1:${port}`,
          retry: { attempts: 3, baseDelayMs: 1 },
        }),
        "CHAIN_RPC_UNREACHABLE",
      );
      expect(e.details).toMatchObject({ method: "eth_chainId", attempts: 3 });
      expect(requests).toBe(3);
    } finally {
      server.close();
    }
  });

  it("reports unknown RPC methods as CHAIN_RPC_ERROR", async () => {
    await expectCode(chain.client.request("eth_noSuchMethod"), "CHAIN_RPC_ERROR");
  });

  it("retries across an anvil killed and restarted on the same port with the same state", async () => {
    const stateFile = join(dir, "state.json");
    const anvil = await startAnvil({ stateFile });
    const client = await EthereumClient.connect({
      rpcUrl: anvil.rpcUrl,
      pollIntervalMs: 20,
      retry: { attempts: 12, baseDelayMs: 100, maxDelayMs: 400 },
    });
    try {
      const signer = LocalSigner.fromPrivateKey(anvil.accounts[0]!.privateKey);
      const deployments = await deployContracts(client, signer);
      const before = await client.getBlockNumber();
      await anvil.stop(); // SIGINT: anvil dumps its state
      const pid = anvil.pid;
      expect(pid).toBeUndefined();
      // the send starts while the node is down and succeeds once it is back
      const sending = client.sendTransaction(signer, { to: anvil.accounts[1]!.address, value: 1n });
      const restarting = (async () => {
        await new Promise((r) => setTimeout(r, 300));
        await anvil.restart();
      })();
      const sent = await sending;
      await restarting;
      const receipt = await sent.wait({ timeoutMs: 10_000 });
      expect(receipt.blockNumber).toBeGreaterThan(before);
      // the state survived: the contracts are still there
      await openContracts(client, deployments);
      // a node that stays down: a coded error, not a hang
      await anvil.kill();
      const down = await EthereumClient.connect({
        rpcUrl: anvil.rpcUrl,
        retry: { attempts: 2, baseDelayMs: 10 },
      }).catch((e) => e);
      expect(down.code).toBe("CHAIN_RPC_UNREACHABLE");
    } finally {
      client.close();
      await anvil.stop();
    }
  });
});

describe("contracts and deployments", () => {
  it("deploys, writes and reloads the deployments file", async () => {
    const deployments = await deployContracts(chain.client, chain.deployer, { dir });
    expect(deployments.chainId).toBe(31337);
    expect(deployments.format).toBe("chaoscore.deployments/v1");
    expect(loadDeployments(dir, 31337)).toEqual(deployments);
    const contracts = await openContracts(chain.client, deployments, chain.deployer);
    expect(await contracts.anchor.isAnchorer(chain.deployer.address)).toBe(true);
    expect(deploymentsPath(dir, 31337n)).toBe(join(dir, "deployments", "31337.json"));
  });

  it("fails with CHAIN_DEPLOYMENTS_INVALID for a missing, malformed or foreign file", async () => {
    await expectCode(
      Promise.resolve().then(() => loadDeployments(dir, 5)),
      "CHAIN_DEPLOYMENTS_INVALID",
    );
    const bad = mkdtempSync(join(tmpdir(), "chaoscore-bad-"));
    writeDeployments(bad, { ...loadDeployments(dir, 31337), chainId: 7 });
    writeFileSync(join(bad, "deployments", "8.json"), "{not json");
    await expectCode(
      Promise.resolve().then(() => loadDeployments(bad, 8)),
      "CHAIN_DEPLOYMENTS_INVALID",
    );
    const foreign = loadDeployments(bad, 7);
    await expectCode(openContracts(chain.client, foreign), "CHAIN_DEPLOYMENTS_INVALID");
  });

  it("fails with CHAIN_NOT_DEPLOYED when an address holds no code", async () => {
    const anchor = new CheckpointAnchorContract({
      client: chain.client,
      address: chain.others[0]!.address,
      signer: chain.deployer,
    });
    const e = await expectCode(anchor.latest("x"), "CHAIN_NOT_DEPLOYED");
    expect(e.details).toMatchObject({ contract: "CheckpointAnchor", chainId: "31337" });
    await expectCode(
      anchor.anchor({ origin: "x", size: 1, root: `0x${"11".repeat(32)}` as Hex }),
      "CHAIN_NOT_DEPLOYED",
    );
  });
});

describe("connectChain", () => {
  it("starts a local anvil when no RPC URL is configured", async () => {
    const c = await connectChain({ env: {} });
    try {
      expect(c.anvil).toBeDefined();
      expect(c.client.chainId).toBe(31337n);
      expect(c.signer.address).toBe(c.anvil?.accounts[0]?.address);
    } finally {
      await c.close();
    }
  });

  it("uses CHAOSCORE_RPC_URL with a keystore, and refuses an unfunded key or a missing key", async () => {
    const keystore = join(dir, "funded.json");
    const funded = LocalSigner.fromPrivateKey(chain.anvil.accounts[3]!.privateKey);
    writeFileSync(keystore, await funded.encrypt("pw", { scryptN: 1024 }));
    const env = {
      CHAOSCORE_RPC_URL: chain.anvil.rpcUrl,
      CHAOSCORE_KEYSTORE: keystore,
      CHAOSCORE_PASSWORD: "pw",
    };
    const c = await connectChain({ env });
    expect(c.anvil).toBeUndefined();
    expect(c.signer.address).toBe(funded.address);
    await c.close();
    await expectCode(
      connectChain({ env: { ...env, CHAOSCORE_CHAIN_ID: "1" } }),
      "CHAIN_WRONG_CHAIN",
    );
    const poorPath = join(dir, "poor.json");
    writeFileSync(poorPath, await LocalSigner.random().encrypt("pw", { scryptN: 1024 }));
    await expectCode(
      connectChain({ env: { ...env, CHAOSCORE_KEYSTORE: poorPath } }),
      "CHAIN_INSUFFICIENT_FUNDS",
    );
    await expectCode(
      connectChain({ env: { ...env, CHAOSCORE_PASSWORD: "wrong" } }),
      "CHAIN_KEYSTORE_PASSWORD",
    );
    await expectCode(
      connectChain({ env: { CHAOSCORE_RPC_URL: chain.anvil.rpcUrl } }),
      "INVALID_INPUT",
    );
  });
});
