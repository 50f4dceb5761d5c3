// A user's agent under plain `node`, with ChaosCore installed from the packed tarballs
// (scripts/consumer-test.sh copies this file into a fresh project outside the repository).
// It starts `chaoscore serve --no-chain --port 0` from the installed CLI, registers itself
// through @chaoscore/sdk, records signed actions and verifies their receipts.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import {
  AgentRecorder,
  ChaosCoreClient,
  generatePrivateKey,
  privateKeyToAddress,
  signRegistration,
  verifyReceipt,
} from "@chaoscore/sdk";

const dataDir = mkdtempSync(join(tmpdir(), "chaoscore-consumer-data-"));
const server = spawn(
  join("node_modules", ".bin", "chaoscore"),
  ["--data-dir", dataDir, "serve", "--no-chain", "--port", "0"],
  {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, CHAOSCORE_PASSWORD: "consumer-test" },
  },
);
const stop = () => server.exitCode === null && server.kill("SIGTERM");
process.on("exit", stop);
const baseUrl = await new Promise((resolve, reject) => {
  server.once("exit", (code) => reject(new Error(`chaoscore serve exited with ${code}`)));
  createInterface({ input: server.stdout }).on("line", (line) => {
    const m = /^LISTENING (\S+)/.exec(line);
    if (m) resolve(m[1]);
  });
});
console.log(`serve listening at ${baseUrl}`);

const privateKey = generatePrivateKey();
const id = privateKeyToAddress(privateKey);
const client = new ChaosCoreClient({ baseUrl, agentKey: privateKey });
const domain = await client.domain();
await client.registerAgent(
  signRegistration({
    privateKey,
    ...domain,
    card: {
      format: "chaoscore.agent-card/v1",
      name: "Consumer test agent",
      description: "Installed from the packed tarballs",
      capabilities: ["research"],
      framework: "chaoscore-sdk",
      version: "1.0.0",
      endpoints: [],
      codeMeasurement: null,
      owner: null,
    },
  }),
);
console.log(`registered agent ${id}`);

const recorder = new AgentRecorder({
  privateKey,
  ...domain,
  sink: client,
  nextNonce: () => client.nextNonce(id),
  task: "consumer-test",
});
const call = recorder.record("tool.call", { tool: "lookup", input: "Berlin" });
const result = recorder.record("tool.result", { tool: "lookup", output: 7 }, { parents: [call] });
await recorder.outcome(result, "success", { result: "7 °C" });
const report = await recorder.flush();
if (report.failures.length > 0)
  throw new Error(`records failed: ${JSON.stringify(report.failures)}`);

const { log } = await client.info();
for (const pending of [call, result]) {
  const { id: actionId } = await pending;
  const receipt = await client.receipt(actionId);
  const v = verifyReceipt(receipt, log.verifierKey);
  console.log(`receipt ${actionId.slice(0, 10)}… verified: leaf ${v.leafIndex} of ${v.treeSize}`);
}
// The explorer is bundled with esbuild from the installed gateway package on first request.
const explorer = await fetch(`${baseUrl}/explorer/app.js`);
if (explorer.status !== 200) throw new Error(`GET /explorer/app.js: ${explorer.status}`);
console.log(`explorer bundle served (${(await explorer.text()).length} bytes)`);
stop();
console.log("AGENT OK");
