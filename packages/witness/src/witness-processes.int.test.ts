/**
 * Witnesses as real processes on loopback (`chaoscore witness serve`): a log
 * with three witnesses and a quorum of two; bad input over HTTP; a forked
 * log; and SIGKILL during a burst of submissions from two forks of one log.
 */
import {
  formatAddCheckpointRequest,
  generateNoteKey,
  isChaosCoreError,
  parseTrustPolicy,
  TRUST_POLICY_FORMAT,
  verifyCosignatures,
  verifyReceiptWithPolicy,
} from "@chaoscore/core";
import { WitnessingService } from "@chaoscore/log";
import { openTestEngine } from "@chaoscore/testkit";
import {
  startWitnessProcess,
  stopWitnessProcess,
  type WitnessProcess,
} from "@chaoscore/testkit/witness-process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MemoryLog } from "./test-support/memory-log.js";

/** Starting `chaoscore witness serve` (tsx, PGlite) takes seconds, more on a busy machine. */
const PROCESS_TIMEOUT = 300_000;

const post = (url: string, body: string) =>
  fetch(`${url}/add-checkpoint`, { method: "POST", body });

describe("three witness processes, quorum 2 of 3", { timeout: PROCESS_TIMEOUT }, () => {
  let t: Awaited<ReturnType<typeof openTestEngine>>;
  let witnesses: WitnessProcess[] = [];
  let service: WitnessingService;

  beforeAll(async () => {
    t = await openTestEngine();
    const log = `${t.engine.log.origin} ${t.engine.log.verifierKey}`;
    witnesses = await Promise.all(
      [1, 2, 3].map((i) => startWitnessProcess({ logs: [log], name: `witness.test/w${i}` })),
    );
    service = new WitnessingService({
      log: t.engine.log,
      witnesses: witnesses.map((w) => ({ url: w.url, verifierKey: w.verifierKey })),
      timeoutMs: 3000,
      requestTimeoutMs: 1000,
      retryDelayMs: 50,
      intervalMs: 0,
    });
  }, PROCESS_TIMEOUT);
  afterAll(async () => {
    await service?.stop();
    await Promise.all(witnesses.map((w) => stopWitnessProcess(w)));
    await t?.close();
  }, PROCESS_TIMEOUT);

  const policy = () =>
    parseTrustPolicy({
      format: TRUST_POLICY_FORMAT,
      log: { key: t.engine.log.verifierKey },
      witnesses: { keys: witnesses.map((w) => w.verifierKey), quorum: 2 },
    });

  async function recordAndWitness(agent: Awaited<ReturnType<typeof t.newAgent>>) {
    const { id } = await t.engine.agency.recordAction(
      agent.action({ payload: { n: Math.random() } }),
    );
    const latest = await t.engine.log.latestCheckpoint();
    const outcomes = await service.witness(latest!);
    return { id, outcomes };
  }

  it("all three cosign; the receipt verifies under the policy; bad input is refused as the spec says and stores nothing", async () => {
    const agent = await t.newAgent();
    const { id, outcomes } = await recordAndWitness(agent);
    expect(outcomes.map((o) => o.status)).toEqual(["cosigned", "cosigned", "cosigned"]);
    const receipt = await t.engine.agency.getReceipt(id);
    expect(verifyReceiptWithPolicy(receipt, policy()).witnesses.verified).toBe(3);

    // Bad input, over HTTP, to witness 1 (which holds the latest checkpoint).
    const w = witnesses[0] as WitnessProcess;
    const held = (await t.engine.log.latestCheckpoint())!;
    const other = new MemoryLog("chaoscore.test/unknown").append(3);
    const impostor = new MemoryLog(
      t.engine.log.origin,
      generateNoteKey(t.engine.log.origin),
    ).append(held.size + 2);
    const cases: [string, string, number][] = [
      ["unknown origin", formatAddCheckpointRequest(0, [], other.checkpoint()), 404],
      ["bad signature", formatAddCheckpointRequest(held.size, [], impostor.checkpoint()), 403],
      ["old size", formatAddCheckpointRequest(0, [], held.note), 409],
      ["malformed", `old ${held.size}\nnot a hash\n\n${held.note}`, 400],
      ["old above size", formatAddCheckpointRequest(held.size + 5, [], held.note), 400],
    ];
    for (const [what, body, status] of cases) {
      const r = await post(w.url, body);
      expect({ what, status: r.status }).toEqual({ what, status });
      if (status === 409) {
        expect(r.headers.get("content-type")).toBe("text/x.tlog.size");
        expect(await r.text()).toBe(`${held.size}\n`);
      }
    }
    // A bad proof for a real extension: 422.
    await t.engine.agency.recordAction(agent.action({ payload: { n: "grow" } }));
    const grown = (await t.engine.log.latestCheckpoint())!;
    const proof = await t.engine.log.consistencyProof(held.size, grown.size);
    if (proof.length > 0) proof[0] = new Uint8Array(32);
    else proof.push(new Uint8Array(32));
    const bad = await post(w.url, formatAddCheckpointRequest(held.size, proof, grown.note));
    expect(bad.status).toBe(proof.length > 0 ? 422 : 400);
    // Nothing was stored: the witness still holds `held` (same size, same root, cosigned again).
    const same = await post(w.url, formatAddCheckpointRequest(held.size, [], held.note));
    expect(same.status).toBe(200);
  });

  it("with one witness down, the checkpoint still gets 2 cosignatures and the receipt verifies", async () => {
    await stopWitnessProcess(witnesses[2] as WitnessProcess);
    const agent = await t.newAgent();
    const { id, outcomes } = await recordAndWitness(agent);
    expect(outcomes.map((o) => o.status)).toEqual(["cosigned", "cosigned", "unavailable"]);
    expect(outcomes[2]?.code).toBe("WITNESS_UNAVAILABLE");
    const receipt = await t.engine.agency.getReceipt(id);
    expect(verifyReceiptWithPolicy(receipt, policy()).witnesses.verified).toBe(2);
  });

  it("with two witnesses down, fewer than 2 cosign and the receipt fails the quorum", async () => {
    await stopWitnessProcess(witnesses[1] as WitnessProcess);
    const agent = await t.newAgent();
    const { id, outcomes } = await recordAndWitness(agent);
    expect(outcomes.filter((o) => o.status === "cosigned")).toHaveLength(1);
    const receipt = await t.engine.agency.getReceipt(id);
    expect(
      verifyCosignatures(receipt.checkpoint, policy().witnesses.keys).filter((c) => c.verified),
    ).toHaveLength(1);
    let code: string | undefined;
    try {
      verifyReceiptWithPolicy(receipt, policy());
    } catch (error) {
      code = isChaosCoreError(error) ? error.code : String(error);
    }
    expect(code).toBe("RECEIPT_WITNESS_QUORUM");
  });
});

describe("a witness process and a forked log", { timeout: PROCESS_TIMEOUT }, () => {
  let w: WitnessProcess;
  const base = new MemoryLog("chaoscore.test/forked").append(10);

  beforeAll(async () => {
    w = await startWitnessProcess({ logs: [base.verifierKey], name: "witness.test/fork" });
  }, PROCESS_TIMEOUT);
  afterAll(async () => {
    if (w !== undefined) await stopWitnessProcess(w, "SIGKILL");
  });

  it("refuses the second branch (409, then 422) after cosigning the first", async () => {
    expect((await post(w.url, formatAddCheckpointRequest(0, [], base.checkpoint()))).status).toBe(
      200,
    );
    const left = base.fork().append(3, "left");
    const right = base.fork().append(5, "right");
    expect(
      (await post(w.url, formatAddCheckpointRequest(10, left.proof(10), left.checkpoint()))).status,
    ).toBe(200);
    const fromPrefix = await post(
      w.url,
      formatAddCheckpointRequest(10, right.proof(10), right.checkpoint()),
    );
    expect(fromPrefix.status).toBe(409);
    expect(await fromPrefix.text()).toBe("13\n");
    const fromLeft = await post(
      w.url,
      formatAddCheckpointRequest(13, right.proof(13), right.checkpoint()),
    );
    expect(fromLeft.status).toBe(422);
  });
});

describe("SIGKILL during a burst of submissions", { timeout: PROCESS_TIMEOUT }, () => {
  it(
    "never yields cosignatures of two inconsistent checkpoints of one origin",
    async () => {
      const base = new MemoryLog("chaoscore.test/burst").append(10);
      let w = await startWitnessProcess({ logs: [base.verifierKey], name: "witness.test/burst" });
      const port = Number(new URL(w.url).port);
      const url = w.url;
      const cosigned: { branch: string; size: number; line: string; note: string }[] = [];
      let killed = false;
      let restarting: Promise<void> | undefined;

      const killAndRestart = () => {
        killed = true;
        restarting = (async () => {
          await stopWitnessProcess(w, "SIGKILL");
          w = await startWitnessProcess({
            logs: [base.verifierKey],
            name: "witness.test/burst",
            dataDir: w.dataDir,
            port,
          });
        })();
      };

      async function submit(body: string): Promise<Response | undefined> {
        try {
          return await post(url, body);
        } catch {
          await (restarting ?? new Promise((r) => setTimeout(r, 20)));
          return undefined;
        }
      }

      // Two clients, each extending its own fork of the same prefix, racing.
      async function client(branch: string, fromPrefixFirst: boolean) {
        const log = base.fork();
        let old = 0;
        for (let i = 0; i < 25; i++) {
          log.append(1, branch);
          for (let attempt = 0; attempt < 4; attempt++) {
            const from = fromPrefixFirst && attempt === 0 ? 10 : old;
            if (from > log.size) break; // the witness is past this branch
            const note = log.checkpoint();
            const r = await submit(
              formatAddCheckpointRequest(from, from === 0 ? [] : log.proof(from), note),
            );
            if (r === undefined) continue;
            const text = await r.text();
            if (r.status === 200) {
              cosigned.push({ branch, size: log.size, line: text, note });
              old = log.size;
              if (!killed && cosigned.length >= 5) killAndRestart();
              break;
            }
            if (r.status === 409) {
              old = Number(text.trim());
              continue;
            }
            break; // 422: this branch is refused
          }
        }
      }

      try {
        // The prefix first, so that both branches start from a cosigned checkpoint.
        const first = await post(url, formatAddCheckpointRequest(0, [], base.checkpoint()));
        expect(first.status).toBe(200);
        cosigned.push({
          branch: "prefix",
          size: 10,
          line: await first.text(),
          note: base.checkpoint(),
        });
        await Promise.all([client("a", false), client("b", true)]);
        await restarting;
        expect(killed).toBe(true);
        // Every returned cosignature is valid…
        for (const c of cosigned) {
          const lines = `${c.note}${c.line}`;
          expect(verifyCosignatures(lines, [w.verifierKey]).some((x) => x.verified)).toBe(true);
        }
        // … and all cosigned checkpoints lie on one branch (pairwise consistent).
        const branches = new Set(cosigned.filter((c) => c.size > 10).map((c) => c.branch));
        expect(branches.size).toBe(1);
        expect(cosigned.length).toBeGreaterThan(5);
      } finally {
        await restarting?.catch(() => {});
        await stopWitnessProcess(w, "SIGKILL");
      }
    },
    PROCESS_TIMEOUT,
  );
});
