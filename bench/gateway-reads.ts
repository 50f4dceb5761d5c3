/**
 * The read-load generator of `npm run bench -- gateway` (proof serving), in
 * its own process: autocannon GETs random inclusion proofs or random full
 * tiles of a log of `size` leaves for `seconds`, and prints one JSON line.
 * Usage: tsx bench/gateway-reads.ts <url> <proof|tile> <size> <connections> <seconds>
 */
import autocannon from "autocannon";

const [url, mode, sizeText, connections, seconds] = process.argv.slice(2);
const size = Number(sizeText);
if (url === undefined || (mode !== "proof" && mode !== "tile") || !(size > 0)) {
  console.error("usage: gateway-reads.ts <url> <proof|tile> <size> <connections> <seconds>");
  process.exit(2);
}

/** Encodes N as tlog-tiles does: `x001/x234/067` (as the gateway's tileIndexPath). */
function tilePath(index: number): string {
  const s = String(index).padStart(3, "0");
  const padded = s.padStart(Math.ceil(s.length / 3) * 3, "0");
  const groups = padded.match(/.{3}/g) as string[];
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
}

const fullTiles = Math.floor(size / 256);
let shown = 0;
const result = await autocannon({
  url,
  connections: Number(connections ?? 32),
  duration: Number(seconds ?? 10),
  timeout: 30,
  requests: [
    {
      method: "GET" as const,
      setupRequest: (request: autocannon.Request) => ({
        ...request,
        path:
          mode === "proof"
            ? `/v1/log/proofs/inclusion?index=${Math.floor(Math.random() * size)}&size=${size}`
            : `/log/tile/0/${tilePath(Math.floor(Math.random() * fullTiles))}`,
      }),
      onResponse: (status: number, body: string) => {
        if (status >= 300 && shown++ < 3) console.error(`non-2xx ${status}: ${body.slice(0, 200)}`);
      },
    },
  ],
});
console.log(
  JSON.stringify({
    requests: result.requests.total,
    ok: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    seconds: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
  }),
);
