// A TypeScript consumer of the packed packages, typechecked by scripts/consumer-test.sh in a
// fresh project with `moduleResolution` node16 and bundler (it is not run).
import { type Receipt, verifyReceipt } from "@chaoscore/core";
import { ChaosCoreClient, generatePrivateKey, privateKeyToAddress } from "@chaoscore/sdk";

const privateKey: Uint8Array = generatePrivateKey();
const address: string = privateKeyToAddress(privateKey);
const client = new ChaosCoreClient({ baseUrl: "http://127.0.0.1:8787", agentKey: privateKey });

export async function check(actionId: `0x${string}`): Promise<number> {
  const receipt: Receipt = await client.receipt(actionId);
  const { log } = await client.info();
  return verifyReceipt(receipt, log.verifierKey).leafIndex + address.length;
}

// The declarations are real types, not `any`: a wrong argument is an error.
// @ts-expect-error the log key is a string
verifyReceipt({} as Receipt, 42);
