/**
 * The load generator of `npm run bench -- scale`, in its own process (it does
 * not share a gateway's event loop): autocannon POSTs the prepared signed
 * actions, each exactly once, to several gateways. autocannon gives
 * connection i the URL i mod (number of URLs), so the connections are spread
 * round robin over the gateways, as a connection-level load balancer does.
 * Each line of the bodies file holds one agent's actions in nonce order and
 * each connection sends one agent's actions, in order (an agent's nonces must
 * increase), so there must be as many connections as agents.
 *
 * Writes the ids of the acknowledged (201) actions, one per line, to
 * `<acked file>` and prints one JSON line of totals.
 * Usage: tsx bench/scale-load.ts <url,url,…> <bodies.ndjson> <api key> <acked file>
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import autocannon from "autocannon";

const [urlList, file, key, ackedFile] = process.argv.slice(2);
if (urlList === undefined || file === undefined || key === undefined || ackedFile === undefined) {
  console.error("usage: scale-load.ts <url,url,…> <bodies.ndjson> <api key> <acked file>");
  process.exit(2);
}
const urls = urlList.split(",");
const perAgent = readFileSync(file, "utf8")
  .trim()
  .split("\n")
  .map((line) => (JSON.parse(line) as unknown[]).map((b) => JSON.stringify(b)));
const total = perAgent.reduce((n, q) => n + q.length, 0);
const acked: string[] = [];
const answers = new Map<number, number>();
let nextAgent = 0;
let shown = 0;
const result = await autocannon({
  // autocannon takes several URLs (lib/run.js: connection i → urls[i % n]); its types say one.
  url: urls as unknown as string,
  connections: perAgent.length,
  amount: total,
  timeout: 60,
  // As gateway-load.ts: autocannon notices the last answer only at its next
  // sample tick and counts the wait in `duration` (up to 1 s by default).
  sampleInt: 20,
  // autocannon keeps a connection's context for one pass over `requests` and
  // resets it after: a pass as long as an agent's queue keeps one agent per
  // connection for the whole queue (its nonces in order).
  requests: Array.from({ length: Math.max(...perAgent.map((q) => q.length)) }, () => ({
    method: "POST" as const,
    path: "/v1/actions",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    onResponse: (status: number, body: string) => {
      answers.set(status, (answers.get(status) ?? 0) + 1);
      if (status === 201) {
        acked.push((JSON.parse(body) as { id: string }).id);
      } else if (shown++ < 3) {
        console.error(`non-201 answer ${status}: ${body.slice(0, 300)}`);
      }
    },
    setupRequest: (request: autocannon.Request, context: { queue?: string[] }) => {
      context.queue ??= perAgent[nextAgent++ % perAgent.length] ?? [];
      return { ...request, body: context.queue.shift() ?? "{}" };
    },
  })),
});
writeFileSync(ackedFile, acked.length === 0 ? "" : `${acked.join("\n")}\n`);
console.log(
  JSON.stringify({
    requests: result.requests.total,
    ok: result["2xx"],
    acked: acked.length,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    answers: Object.fromEntries(answers),
  }),
);
