import { describe, expect, it } from "vitest";
import { parseWrk } from "./wrk.js";

// wrk 4.1.0's own output (`wrk -t1 -c4 -d1s --latency`, a quarter of the answers 404).
const SAMPLE = `Running 1s test @ http://127.0.0.1:45678
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   191.03us  505.95us   8.52ms   94.55%
    Req/Sec    47.55k    20.45k   64.60k    81.82%
  Latency Distribution
     50%   66.00us
     75%  107.00us
     90%  274.00us
     99%    2.84ms
  51851 requests in 1.10s, 411.35MB read
  Non-2xx or 3xx responses: 12985
Requests/sec:  47138.69
Transfer/sec:    373.97MB
`;

describe("parseWrk", () => {
  it("reads the counts, the failures, the percentiles and the bytes of wrk's summary", () => {
    const reads = parseWrk(SAMPLE);
    expect(reads).toMatchObject({ requests: 51851, ok: 51851 - 12985, non2xx: 12985, errors: 0 });
    expect(reads.seconds).toBeCloseTo(1.1);
    expect(reads.p50).toBeCloseTo(0.066);
    expect(reads.p99).toBeCloseTo(2.84);
    expect(reads.bytes).toBeCloseTo(411.35 * 2 ** 20);
  });

  it("counts socket errors as failures", () => {
    const reads = parseWrk(
      `${SAMPLE}  Socket errors: connect 1, read 2, write 3, timeout 4\n`.replace(
        "  Non-2xx or 3xx responses: 12985\n",
        "",
      ),
    );
    expect(reads).toMatchObject({ ok: 51851, non2xx: 0, errors: 10 });
  });

  it("refuses output without a summary rather than reading zero", () => {
    expect(() => parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n")).toThrow(
      /no summary/,
    );
  });
});
