/**
 * Sandbox limit abuse (issue 19 item 8): `POST /v1/executions` with
 * client-chosen limits above the server-side maxima (400
 * EXECUTION_BAD_INPUT, nothing runs, no row written) and abusive programs
 * (native loops, huge strings and arrays, unbounded recursion, memory
 * hogs), each contained with its host-decided code; a normal run still
 * answers right after each burst.
 *
 * `chaoscore serve` has no sandbox switch, so this scenario drives the
 * gateway app in-process (the same `buildGateway` over a PGlite engine, with
 * a one-worker `SecureExecutionEnvironment`), through `app.inject`.
 * @module
 */
import { MockTeeProvider, SecureExecutionEnvironment } from "@chaoscore/sandbox";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { fmt, type ScenarioResult } from "./report.js";

/** One abusive request and the answer it must get. */
export type AbuseCase = { name: string; body: object; status: number; code: string };

/** Limits over the server maxima (10 s / 64 MiB / 2e9 gas): refused before running. */
export const OVER_LIMITS: AbuseCase[] = [
  { timeoutMs: 600_000 },
  { memoryBytes: 1024 * 1024 * 1024 },
  { gas: 2 ** 40 },
  { outputBytes: 64 * 1024 * 1024 },
  { stackBytes: 1024 * 1024 * 1024 },
  { logBytes: 1024 * 1024 * 1024 },
  { nonsense: 1 },
].map((limits) => ({
  name: `limits ${JSON.stringify(limits)}`,
  body: { limits },
  status: 400,
  code: "nonsense" in limits ? "GATEWAY_REQUEST_INVALID" : "EXECUTION_BAD_INPUT",
}));

/** Abusive programs and the code that contains each. */
export const ABUSIVE_PROGRAMS: AbuseCase[] = [
  {
    name: "native loop (indexOf over 2^40)",
    body: {
      code: "export default () => [].indexOf.call({ length: 2 ** 40 }, 1)",
      limits: { gas: 5_000_000 },
    },
    status: 422,
    code: "EXECUTION_CPU_LIMIT",
  },
  {
    name: "JS infinite loop",
    body: { code: "export default () => { for (;;) {} }", limits: { gas: 5_000_000 } },
    status: 422,
    code: "EXECUTION_CPU_LIMIT",
  },
  {
    name: "huge string (join of 2^28)",
    body: { code: "export default () => new Array(2 ** 28).join('')", limits: { gas: 5_000_000 } },
    status: 422,
    code: "EXECUTION_CPU_LIMIT",
  },
  {
    // the engine's string length limit (2^30 chars) is hit before 64 MiB: a
    // thrown error, EXECUTION_CODE_ERROR by docs/errors.md, not a memory limit
    name: "string doubling",
    body: { code: "export default () => { let s = 'x'; for (;;) s += s; }" },
    status: 422,
    code: "EXECUTION_CODE_ERROR",
  },
  {
    name: "string doubling in 16 MiB",
    body: {
      code: "export default () => { let s = 'x'; for (;;) s += s; }",
      limits: { memoryBytes: 16 * 1024 * 1024 },
    },
    status: 422,
    code: "EXECUTION_CODE_ERROR",
  },
  {
    name: "typed-array hog",
    body: {
      code: "export default () => { const k = []; for (;;) k.push(new Float64Array(1 << 20)); }",
      limits: { memoryBytes: 16 * 1024 * 1024 },
    },
    status: 422,
    code: "EXECUTION_MEMORY_LIMIT",
  },
  {
    name: "unbounded recursion",
    body: { code: "export default () => { const f = () => f(); return f(); }" },
    status: 422,
    code: "EXECUTION_STACK_OVERFLOW",
  },
  {
    name: "forged InternalError",
    body: {
      code: "export default () => { throw { name: 'InternalError', message: 'interrupted' }; }",
    },
    status: 422,
    code: "EXECUTION_CODE_ERROR",
  },
];

/** Runs the scenario: `rounds` bursts of every case, a normal run after each burst. */
export async function sandboxAbuseScenario(
  options: { rounds: number },
  progress: (line: string) => void,
): Promise<ScenarioResult> {
  const started = performance.now();
  const sandbox = new SecureExecutionEnvironment({ workers: 1 });
  const g = await openTestGateway({ execution: { provider: MockTeeProvider.create(), sandbox } });
  const answers = new Map<string, number>();
  const wrong: string[] = [];
  let http5xx = 0;
  let normalFailures = 0;
  let rowsWritten = 0;
  let requests = 0;
  let misanswered = 0;
  try {
    const key = (await g.keys.create({ scopes: ["ingest"], label: "abuse" })).key;
    const run = (body: object) =>
      g.app.inject({
        method: "POST",
        url: "/v1/executions",
        headers: { ...g.bearer(key), "content-type": "application/json" },
        payload: JSON.stringify({ code: "export default (x) => x * 2", input: 21, ...body }),
      });
    progress(
      `sandbox abuse: ${options.rounds} rounds × (${OVER_LIMITS.length} over-limit + ${ABUSIVE_PROGRAMS.length} abusive programs)`,
    );
    for (let round = 1; round <= options.rounds; round++) {
      const before = JSON.stringify(await g.rows());
      const refused = await Promise.all(OVER_LIMITS.map((c) => run(c.body)));
      const after = JSON.stringify(await g.rows());
      if (after !== before) rowsWritten++;
      const contained = await Promise.all(ABUSIVE_PROGRAMS.map((c) => run(c.body)));
      const cases = [...OVER_LIMITS, ...ABUSIVE_PROGRAMS];
      [...refused, ...contained].forEach((r, i) => {
        const c = cases[i] as AbuseCase;
        requests++;
        const code = (r.json() as { code?: string }).code ?? "";
        const key = `${r.statusCode} ${code}`;
        answers.set(key, (answers.get(key) ?? 0) + 1);
        if (r.statusCode >= 500) http5xx++;
        if (r.statusCode !== c.status || code !== c.code) {
          misanswered++;
          if (wrong.length < 5) wrong.push(`${c.name}: ${key} (expected ${c.status} ${c.code})`);
        }
      });
      const normal = await run({});
      requests++;
      if (normal.statusCode !== 200 || (normal.json() as { output?: unknown }).output !== 42) {
        normalFailures++;
      }
      progress(`  round ${round}/${options.rounds}: ${misanswered} wrong answers so far`);
    }
  } finally {
    await g.close();
    await sandbox.close();
  }
  return {
    scenario: "sandbox limit abuse",
    load: `${fmt(requests)} executions, bursts of ${ABUSIVE_PROGRAMS.length} concurrent`,
    faults: "over-maxima limits, loops, memory/string hogs",
    badInputs: requests - options.rounds,
    actionsLost: 0,
    http5xx,
    seconds: (performance.now() - started) / 1000,
    notes: [
      `answers: ${[...answers].map(([k, v]) => `${k} ×${fmt(v)}`).join(", ")}`,
      `normal run right after each burst: ${options.rounds - normalFailures}/${options.rounds} answered 200 (42)`,
      `rounds where a refused request changed a row: ${rowsWritten}`,
      ...wrong,
    ],
    measures: {
      http_5xx: http5xx,
      rows_written_by_rejected: rowsWritten,
      sandbox_misanswered: misanswered + normalFailures,
    },
  };
}
