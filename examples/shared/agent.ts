/**
 * What the examples share: an agent that registers itself with its own key
 * (the registration and the HTTP request are both signed by the agent, so no
 * API key is needed) and, for the agents that record their steps, an
 * `AgentRecorder` that sends through the same client.
 */
import {
  AgentRecorder,
  ChaosCoreClient,
  generatePrivateKey,
  privateKeyToAddress,
  signRegistration,
} from "@chaoscore/sdk";

/** The parts of an agent card an example chooses; the rest are those of a new agent. */
export type ExampleCard = {
  name: string;
  description: string;
  capabilities: string[];
  framework: string;
};

/** What agents sign for: the chain and the deployment (`client.domain()`). */
export type SigningDomain = Awaited<ReturnType<ChaosCoreClient["domain"]>>;

/**
 * Registers the agent of `privateKey` through `client`, which must sign with
 * that key (`new ChaosCoreClient({ …, agentKey })` or `client.with({ agentKey })`).
 * @returns the agent's id and the signing domain.
 */
export async function registerAgent(
  client: ChaosCoreClient,
  privateKey: Uint8Array,
  card: ExampleCard,
): Promise<{ id: `0x${string}`; domain: SigningDomain }> {
  const domain = await client.domain();
  await client.registerAgent(
    signRegistration({
      privateKey,
      ...domain,
      card: {
        format: "chaoscore.agent-card/v1",
        ...card,
        version: "1.0.0",
        endpoints: [],
        codeMeasurement: null,
        owner: null,
      },
    }),
  );
  return { id: privateKeyToAddress(privateKey), domain };
}

/**
 * A new agent on `gateway`: a fresh key (a real agent loads its own; it signs
 * everything locally), a client that signs with it, the agent registered, and
 * a recorder whose nonces come from the gateway.
 */
export async function startRecordingAgent(
  gateway: string,
  card: ExampleCard,
  options: { task?: string } = {},
) {
  const privateKey = generatePrivateKey();
  const client = new ChaosCoreClient({ baseUrl: gateway, agentKey: privateKey });
  const { id, domain } = await registerAgent(client, privateKey, card);
  console.log(`registered agent ${id}`);
  const recorder = new AgentRecorder({
    privateKey,
    ...domain,
    sink: client,
    nextNonce: () => client.nextNonce(id),
    ...options,
  });
  return { id, client, recorder };
}
