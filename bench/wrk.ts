/**
 * wrk (https://github.com/wg/wrk, Debian's `wrk` package) as a read-load
 * generator for the gateway bench. On this 2-core machine the load generator
 * shares the cores with the gateway, so its own cost per request decides what
 * can be measured: autocannon, in JavaScript, spends more CPU per request than
 * the gateway does on a cached tile (it keeps every body as a string), while
 * wrk, in C, spends a fraction of it — so a figure taken with wrk is the
 * gateway's, not the generator's. `findWrk` finds it on the PATH or installs
 * it from Debian's packages the way bench/start-postgres-durable installs
 * Postgres; without it the bench falls back to autocannon and says so.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { outputOf } from "./child-output.js";

/** One pass of reads, as both generators report it. */
export type Reads = {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
  /** Bytes read, headers included (wrk only; it prints them in binary units). */
  bytes?: number;
};

function onPath(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v wrk"], { encoding: "utf8" });
  const path = found.stdout.trim();
  return found.status === 0 && path !== "" ? path : undefined;
}

/**
 * The path of `wrk`: on the PATH, or installed from Debian's packages
 * (`apt-get install wrk`, with sudo when not root) unless
 * `CHAOSCORE_BENCH_NO_INSTALL` is set; undefined when neither works.
 */
export function findWrk(log: (message: string) => void): string | undefined {
  const found = onPath();
  if (found !== undefined || process.env.CHAOSCORE_BENCH_NO_INSTALL) return found;
  const hasApt = spawnSync("sh", ["-c", "command -v apt-get"]).status === 0;
  if (!hasApt) return undefined;
  log("  wrk: installing it from Debian's packages (apt-get install wrk)…");
  const sudo = process.getuid?.() === 0 ? "" : "sudo -n ";
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = spawnSync(
    "sh",
    ["-c", `${sudo}apt-get update -qq && ${sudo}apt-get install -y -qq wrk`],
    { stdio: ["ignore", "ignore", "inherit"], env },
  );
  if (install.status !== 0) log("  wrk: could not install it");
  return onPath();
}

/** A Lua string literal. */
function lua(text: string): string {
  return JSON.stringify(text);
}

/**
 * Runs wrk (one thread, `connections` keep-alive connections) against `url`
 * for `seconds`, each request a GET of a path picked at random: one of
 * `paths`, or, when `paths` is a function of a random integer below `range`,
 * its result. Resolves with the counts wrk prints.
 */
export function runWrk(
  wrk: string,
  url: string,
  request: { paths: readonly string[] } | { format: string; range: number },
  connections: number,
  seconds: number,
): Promise<Reads> {
  const dir = mkdtempSync(join(tmpdir(), "chaoscore-wrk-"));
  const script = join(dir, "reads.lua");
  // Lua's own PRNG, seeded per thread; the paths are built in the script so that
  // no request costs wrk more than a table lookup or one string.format.
  const pick =
    "paths" in request
      ? `local paths = {${request.paths.map(lua).join(",")}}
request = function() return wrk.format("GET", paths[math.random(#paths)]) end`
      : `local range = ${request.range}
request = function() return wrk.format("GET", string.format(${lua(request.format)}, math.random(0, range - 1))) end`;
  writeFileSync(script, `math.randomseed(os.time() + os.clock() * 1e6)\n${pick}\n`);
  return outputOf("wrk", wrk, [
    "-t1",
    `-c${connections}`,
    `-d${seconds}s`,
    "--latency",
    "-s",
    script,
    url,
  ])
    .then(parseWrk)
    .finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** A wrk latency such as `812.00us`, `1.25ms` or `2.01s`, in ms. */
function ms(text: string): number {
  const m = /^([0-9.]+)(us|ms|s|m)$/.exec(text);
  if (m === null) throw new Error(`wrk: cannot read the latency ${text}`);
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as "us" | "ms" | "s" | "m"];
  return Number(m[1]) * scale;
}

/** Reads wrk's summary (`--latency`) into the counts the bench prints. */
export function parseWrk(out: string): Reads {
  const total = /(\d+) requests in ([0-9.]+)(us|ms|s|m),/.exec(out);
  if (total === null) throw new Error(`wrk: no summary in its output:\n${out}`);
  const requests = Number(total[1]);
  const seconds = ms(`${total[2]}${total[3]}`) / 1000;
  const read = /requests in [^,]+, ([0-9.]+)(B|KB|MB|GB|TB) read/.exec(out);
  const unit = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40 };
  const bytes = read === null ? undefined : Number(read[1]) * unit[read[2] as keyof typeof unit];
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = socket === null ? 0 : socket.slice(1, 5).reduce((n, x) => n + Number(x), 0);
  const percentile = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+(\\S+)`, "m").exec(out);
    return m === null ? Number.NaN : ms(m[1] as string);
  };
  return {
    requests,
    ok: requests - non2xx,
    non2xx,
    errors,
    seconds,
    p50: percentile("50"),
    p99: percentile("99"),
    ...(bytes === undefined ? {} : { bytes }),
  };
}
