/**
 * The load generator of `npm run bench -- gateway`, in its own process so that
 * it does not share the gateway's event loop: autocannon POSTs the prepared
 * signed actions (one per request, each exactly once) and prints one JSON line.
 * Usage: tsx bench/gateway-load.ts <url> <bodies.ndjson> <connections> <api key>
 */
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

const [url, file, connections, key] = process.argv.slice(2);
if (url === undefined || file === undefined || key === undefined) {
  console.error("usage: gateway-load.ts <url> <bodies.ndjson> <connections> <api key>");
  process.exit(2);
}
const bodies = readFileSync(file, "utf8").trim().split("\n");
let next = 0;
const result = await autocannon({
  url,
  connections: Number(connections ?? 64),
  amount: bodies.length,
  timeout: 60,
  requests: [
    {
      method: "POST",
      path: "/v1/actions",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] as string }),
    },
  ],
});
console.log(
  JSON.stringify({
    requests: result.requests.total,
    ok: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
  }),
);
