/**
 * `POST /v1/executions` (issue 19 item 8): a client cannot make the server
 * run the sandbox past its server-side maxima (it could ask for 600 s and
 * 1 GiB before), and a run's answer carries the gas it used.
 */
import { MockTeeProvider, SecureExecutionEnvironment } from "@chaoscore/sandbox";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type G = Awaited<ReturnType<typeof openTestGateway>>;
let g: G;
let ingestKey: string;
const sandbox = new SecureExecutionEnvironment({ workers: 1 });

beforeAll(async () => {
  g = await openTestGateway({ execution: { provider: MockTeeProvider.create(), sandbox } });
  ingestKey = (await g.keys.create({ scopes: ["ingest"], label: "exec" })).key;
});
afterAll(async () => {
  await g?.close();
  await sandbox.close();
});

const run = (body: object) =>
  g.app.inject({
    method: "POST",
    url: "/v1/executions",
    headers: { ...g.bearer(ingestKey), "content-type": "application/json" },
    payload: JSON.stringify({ code: "export default (x) => x * 2", input: 21, ...body }),
  });

describe("POST /v1/executions", () => {
  it("runs and attests; the record carries the gas used", async () => {
    const r = await run({});
    expect(r.statusCode, r.body).toBe(200);
    const body = r.json();
    expect(body.output).toBe(42);
    expect(body.recorded.format).toBe("chaoscore.execution/v2");
    expect(body.recorded.gasUsed).toBeGreaterThan(0);
    expect(body.gasUsed).toBe(body.recorded.gasUsed);
    expect((await run({})).json().recorded.gasUsed).toBe(body.recorded.gasUsed);
  });

  it("refuses limits over the server-side maxima with 400 EXECUTION_BAD_INPUT, running nothing", async () => {
    const before = await g.rows();
    for (const limits of [
      { timeoutMs: 600_000 },
      { memoryBytes: 1024 * 1024 * 1024 },
      { gas: 2 ** 40 },
      { outputBytes: 64 * 1024 * 1024 },
    ]) {
      const r = await run({ limits });
      expect(r.statusCode, JSON.stringify(limits)).toBe(400);
      expect(r.json().code).toBe("EXECUTION_BAD_INPUT");
    }
    expect(await g.rows()).toEqual(before);
  });

  it("replays a record: the same output hash and gas", async () => {
    const first = (await run({})).json();
    const r = await g.app.inject({
      method: "POST",
      url: "/v1/executions/replay",
      headers: { ...g.bearer(ingestKey), "content-type": "application/json" },
      payload: JSON.stringify(first.recorded),
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ reproduced: true, gasUsed: first.recorded.gasUsed });
    const tampered = await g.app.inject({
      method: "POST",
      url: "/v1/executions/replay",
      headers: { ...g.bearer(ingestKey), "content-type": "application/json" },
      payload: JSON.stringify({ ...first.recorded, gasUsed: first.recorded.gasUsed + 1 }),
    });
    expect(tampered.json().code).toBe("EXECUTION_REPLAY_MISMATCH");
  });

  it("survives a burst of abusive runs: each answered 422 with the host's code, and a normal run still answers", async () => {
    const abusive: [string, object, string][] = [
      [
        "export default () => [].indexOf.call({ length: 2 ** 40 }, 1)",
        { gas: 5_000_000 },
        "EXECUTION_CPU_LIMIT",
      ],
      [
        "export default () => { const k = []; for (;;) k.push(new Float64Array(1 << 20)); }",
        { memoryBytes: 16 * 1024 * 1024 },
        "EXECUTION_MEMORY_LIMIT",
      ],
      [
        "export default () => { throw { name: 'InternalError', message: 'interrupted' }; }",
        {},
        "EXECUTION_CODE_ERROR",
      ],
      ["export default () => { const f = () => f(); return f(); }", {}, "EXECUTION_STACK_OVERFLOW"],
      [
        "export default () => new Array(2 ** 28).join('')",
        { gas: 5_000_000 },
        "EXECUTION_CPU_LIMIT",
      ],
    ];
    const answers = await Promise.all(abusive.map(([code, limits]) => run({ code, limits })));
    expect(answers.map((r) => r.statusCode)).toEqual(abusive.map(() => 422));
    expect(answers.map((r) => r.json().code)).toEqual(abusive.map(([, , code]) => code));
    const normal = await run({});
    expect(normal.statusCode).toBe(200);
    expect(normal.json().output).toBe(42);
  });

  it("accepts limits within the maxima, and a run out of gas is 422 EXECUTION_CPU_LIMIT", async () => {
    expect(
      (await run({ limits: { timeoutMs: 10_000, memoryBytes: 32 * 1024 * 1024 } })).statusCode,
    ).toBe(200);
    const r = await run({
      code: "export default () => { for (;;) {} }",
      limits: { gas: 1_000_000 },
    });
    expect(r.json().code).toBe("EXECUTION_CPU_LIMIT");
  });
});
