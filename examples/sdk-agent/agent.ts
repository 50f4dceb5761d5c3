/**
 * An agent built with the TypeScript SDK: it registers itself (a signed
 * request), then records each tool call and its result as signed actions
 * through an AgentRecorder (the key never leaves this process), signs the
 * outcome of its task, and checks the receipts it gets back.
 *
 *   npx tsx examples/sdk-agent/agent.ts --gateway http://127.0.0.1:8787
 */
import { parseArgs } from "node:util";
import { verifyReceipt } from "@chaoscore/sdk";
import { startRecordingAgent } from "../shared/agent.js";

const { values } = parseArgs({
  options: {
    gateway: { type: "string", default: process.env.CHAOSCORE_GATEWAY ?? "http://127.0.0.1:8787" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("usage: tsx examples/sdk-agent/agent.ts [--gateway URL]");
  process.exit(0);
}

// A fresh key that signs everything locally, a client that signs with it,
// the agent registered, and a recorder (examples/shared/agent.ts).
const { client, recorder } = await startRecordingAgent(
  values.gateway,
  {
    name: "Weather researcher",
    description: "Looks up the weather and writes a one-line forecast",
    capabilities: ["research", "weather"],
    framework: "chaoscore-sdk",
  },
  { task: "forecast-berlin" },
);

// The "tools" of this agent: plain functions; every call and result is a signed action.
const tools = {
  lookupWeather: async (city: string) => ({ city, celsius: 7, sky: "overcast" }),
  writeForecast: async (w: { city: string; celsius: number; sky: string }) =>
    `${w.city}: ${w.sky}, ${w.celsius} °C`,
};

const call1 = recorder.record("tool.call", { tool: "lookupWeather", input: "Berlin" });
const weather = await tools.lookupWeather("Berlin");
const result1 = recorder.record(
  "tool.result",
  { tool: "lookupWeather", output: weather },
  { parents: [call1] },
);
const call2 = recorder.record(
  "tool.call",
  { tool: "writeForecast", input: weather },
  { parents: [result1] },
);
const forecast = await tools.writeForecast(weather);
const result2 = recorder.record(
  "tool.result",
  { tool: "writeForecast", output: forecast },
  { parents: [call2] },
);
// The agent reports its own outcome on the final step (an evaluator would sign another).
await recorder.outcome(result2, "success", { result: forecast, metrics: { steps: 4 } });
const report = await recorder.flush();
if (report.failures.length > 0) {
  console.error("some records failed:", report.failures);
  process.exit(1);
}
console.log(`recorded ${report.recorded} signed entries; forecast: ${forecast}`);

// Receipts: fetched from the gateway, verified here with the log's key.
const { log } = await client.info();
for (const pending of [call1, result1, call2, result2]) {
  const { id: actionId } = await pending;
  const receipt = await client.receipt(actionId);
  const v = verifyReceipt(receipt, log.verifierKey);
  console.log(
    `receipt ${actionId.slice(0, 10)}… verified: leaf ${v.leafIndex} of ${v.treeSize}${v.outcomeId === null ? "" : ", with its outcome"}`,
  );
}
console.log("OK");
