/**
 * The load generator of `npm run bench -- gateway`, in its own process so that
 * it does not share the gateway's event loop: for each file named on a line
 * of its standard input, autocannon POSTs the prepared signed actions in it
 * (one per request, each exactly once) and prints one JSON line. One process
 * for every round of a run, so that autocannon's code is compiled once (by
 * the warm-up round), not in every measured round.
 * Each line of a file holds one agent's actions in nonce order; each
 * connection sends one agent's actions, in order (as an agent does: its
 * nonces must increase), so the connections must be as many as the agents.
 * Usage: tsx bench/gateway-load.ts <url> <connections> <api key>  (file paths on stdin)
 */
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import autocannon from "autocannon";

const [url = "", connections = "", key = ""] = process.argv.slice(2);
if (url === "" || connections === "" || key === "") {
  console.error("usage: gateway-load.ts <url> <connections> <api key>  (file paths on stdin)");
  process.exit(2);
}

/** Sends the actions of `file` and says what came back. */
async function send(file: string) {
  const perAgent = readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((line) => (JSON.parse(line) as unknown[]).map((b) => JSON.stringify(b)));
  const total = perAgent.reduce((n, q) => n + q.length, 0);
  let nextAgent = 0;
  const headers = { "content-type": "application/json", authorization: `Bearer ${key}` };
  const cpu = process.cpuUsage();
  // The load's clock: from the moment every connection's requests are built
  // (no request leaves before: autocannon builds them all synchronously, in
  // its setup, and sends only once the event loop turns) to the last answer.
  // autocannon's own `duration` also counts the building (≈ 11 µs a request
  // here, ≈ 5% of a round in which the gateway has nothing to do) and the wait
  // for its next sample tick after the last answer.
  let ready = 0;
  let lastAnswer = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: Number(connections),
        amount: total,
        timeout: 60,
        // autocannon sees that every request was answered only at its next sample
        // tick and counts the time until then in `duration` (1 s by default: up to
        // 1/8 of a 20,000-action run, which understated the HTTP rate): sample often.
        sampleInt: 10,
        // Each connection sends one agent's queue: its requests built once, as the
        // connection is set up (a request built per send, through setupRequest,
        // cost ≈ 14 µs more of this process's CPU per request on the cores the
        // gateway uses). autocannon sets up the connections in order and gives the
        // first ones the larger shares of `amount`, as the lines' lengths go.
        // No onResponse callback: statuses are counted from autocannon's own result
        // (2xx, non2xx), and the bench reads the refusals' codes from the gateway's
        // metrics; a callback per answer cost CPU on the cores the gateway uses
        // (the tracker's "response" event below only reads the clock).
        setupClient: (client: autocannon.Client) => {
          const queue = perAgent[nextAgent++] ?? [];
          client.setRequests(
            queue.map((body) => ({ method: "POST" as const, path: "/v1/actions", headers, body })),
          );
          if (nextAgent === perAgent.length) ready = performance.now();
        },
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on("response", () => {
      lastAnswer = performance.now();
    });
  });
  const used = process.cpuUsage(cpu);
  return {
    requests: result.requests.total,
    ok: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    // (autocannon's duration where no answer came, or the connections outnumber the agents)
    seconds: ready > 0 && lastAnswer > ready ? (lastAnswer - ready) / 1000 : result.duration,
    autocannonSeconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMicros: used.user + used.system,
  };
}

for await (const file of createInterface({ input: process.stdin })) {
  if (file.trim() !== "") console.log(JSON.stringify(await send(file.trim())));
}
