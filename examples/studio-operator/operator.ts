/**
 * A studio operator's script: with an operator API key it creates a studio
 * and adds members; with the operator agent's own key it signs the task
 * transitions (open, assign), a worker agent starts and submits, and the
 * operator evaluates and reads the worker's reputation.
 *
 *   npx tsx examples/studio-operator/operator.ts --gateway http://127.0.0.1:8787 --api-key cck_…
 */
import { parseArgs } from "node:util";
import {
  ChaosCoreClient,
  generatePrivateKey,
  privateKeyToAddress,
  signStudioEvaluation,
  signStudioTransition,
} from "@chaoscore/sdk";
import { registerAgent } from "../shared/agent.js";

const { values } = parseArgs({
  options: {
    gateway: { type: "string", default: process.env.CHAOSCORE_GATEWAY ?? "http://127.0.0.1:8787" },
    "api-key": { type: "string", default: process.env.CHAOSCORE_API_KEY },
    help: { type: "boolean", default: false },
  },
});
if (values.help || values["api-key"] === undefined) {
  console.log(
    "usage: tsx examples/studio-operator/operator.ts --gateway URL --api-key cck_… (an admin key)",
  );
  process.exit(values.help ? 0 : 2);
}
const admin = new ChaosCoreClient({ baseUrl: values.gateway, apiKey: values["api-key"] });
// What every signature is bound to: the chain and this deployment.
const domain = await admin.domain();

// Two agents: the studio's operator and a worker; each registers itself.
const keys = { operator: generatePrivateKey(), worker: generatePrivateKey() };
const ids = {
  operator: privateKeyToAddress(keys.operator),
  worker: privateKeyToAddress(keys.worker),
};
for (const role of ["operator", "worker"] as const) {
  await registerAgent(admin.with({ agentKey: keys[role] }), keys[role], {
    name: `Studio ${role}`,
    description: `the ${role} of the translation studio`,
    capabilities: role === "worker" ? ["translate"] : ["studio.operate"],
    framework: "chaoscore-sdk",
  });
}
const operator = admin.with({ agentKey: keys.operator });
const worker = admin.with({ agentKey: keys.worker });
let operatorNonce = 0n;
let workerNonce = 0n;

const studio = `translation-${Date.now().toString(36)}`;
await admin.createStudio({
  id: studio,
  kind: "generic",
  name: "Translation studio",
  operator: ids.operator,
  rules: { attestationRequired: false },
  rewardPolicy: { kind: "fixed", budget: "100", amountPerSuccess: "5" },
});
await admin.addMember(studio, ids.worker, ["agent"]);
console.log(`studio ${studio}: operator ${ids.operator}, worker ${ids.worker}`);

const task = "translate-readme";
const last = async () => (await admin.getTask(studio, task)).lastAction;
const step = (
  who: "operator" | "worker",
  transition: string,
  payload: unknown,
  previous: `0x${string}` | null,
) =>
  signStudioTransition({
    privateKey: keys[who],
    ...domain,
    nonce: who === "operator" ? ++operatorNonce : ++workerNonce,
    studio,
    task,
    transition,
    payload,
    previous,
  });

await operator.transition(
  studio,
  "create",
  step(
    "operator",
    "create",
    {
      title: "Translate the README into German",
      role: "agent",
      capabilities: ["translate"],
      dependsOn: [],
      deadline: Math.floor(Date.now() / 1000) + 3600,
      maxRetries: 1,
      input: { text: "ChaosCore is a trust layer for AI agents." },
    },
    null,
  ),
);
const eligible = await admin.request<{ items: { agent: string }[] }>(
  "GET",
  `/v1/studios/${studio}/tasks/${task}/eligible`,
);
console.log(`eligible for ${task}: ${eligible.items.map((e) => e.agent).join(", ")}`);
await operator.transition(
  studio,
  "assign",
  step("operator", "assign", { agent: ids.worker }, await last()),
);
await worker.transition(studio, "start", step("worker", "start", {}, await last()));
const submitted = await worker.transition(
  studio,
  "submit",
  step(
    "worker",
    "submit",
    { result: { text: "ChaosCore ist eine Vertrauensschicht für KI-Agenten." } },
    await last(),
  ),
);
// The operator evaluates: a signed outcome on the submission, then the evaluate transition.
const outcome = signStudioEvaluation({
  privateKey: keys.operator,
  ...domain,
  nonce: ++operatorNonce,
  action: submitted.actionId,
  status: "success",
  metrics: { quality: 0.9 },
});
await operator.transition(studio, "evaluate", {
  ...step(
    "operator",
    "evaluate",
    { verdict: "success", score: 0.9, reason: "accurate" },
    await last(),
  ),
  outcome,
});
const done = await admin.getTask(studio, task);
console.log(`task ${task}: ${done.state} after ${done.history.length} signed transitions`);
const rep = await admin.reputationScore(ids.worker, `studio:${studio}`);
console.log(
  `worker reputation in studio:${studio}: ${rep.score.value.toFixed(3)} (${rep.score.samples} sample)`,
);
if (done.state !== "evaluated") process.exit(1);
console.log("OK");
