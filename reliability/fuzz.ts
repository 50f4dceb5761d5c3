/**
 * Bad requests generated from the running gateway's OpenAPI document with
 * fast-check: every route, with broken path and query parameters, mutated
 * and malformed bodies, wrong content types, bad credentials, mutated signed
 * entries, replayed and expired agent-signed requests. Sent one at a time;
 * the row count and a checksum of every table are taken around each one, so
 * a write by a rejected request is attributed to exactly that request.
 * @module
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import pg from "pg";
import { credentials } from "./fuzz-credentials.js";
import { setup } from "./fuzz-fixtures.js";
import { operationsOf } from "./fuzz-operations.js";
import { type Planned, plan } from "./fuzz-requests.js";
import { startGateway } from "./gateway.js";
import { codeOf, send } from "./http.js";
import type { PostgresServer } from "./postgres.js";
import { fmt, type ScenarioResult } from "./report.js";
import { snapshotter } from "./table-snapshots.js";

/** A request that answered 5xx (or nothing): what to give the lead. */
export type FuzzFailure = {
  op: string;
  labels: string[];
  request: string;
  status: number | string;
  response: string;
};

/** Runs the fuzz scenario: ≥ `total` bad requests. */
export async function fuzzScenario(
  pgServer: PostgresServer,
  options: { total: number; seed: number },
  progress: (line: string) => void,
): Promise<ScenarioResult & { failures: FuzzFailure[] }> {
  const started = performance.now();
  const databaseUrl = await pgServer.createDatabase("rel_fuzz");
  const dataDir = mkdtempSync(join(tmpdir(), "chaoscore-rel-fuzz-"));
  const gateway = await startGateway({ dataDir, databaseUrl });
  const base = gateway.url;
  progress(`fuzz: gateway pid ${gateway.pid} at ${base}; seed ${options.seed}`);
  const fx = await setup(base, gateway.adminKey);
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as Parameters<
    typeof operationsOf
  >[0];
  const ops = operationsOf(doc).filter((o) => o.path !== "/openapi.json");
  const perOp = Math.ceil(options.total / ops.length);
  const planned: Planned[] = [];
  ops.forEach((op, i) => {
    planned.push(...fc.sample(plan(op, fx), { numRuns: perOp, seed: options.seed + i }));
  });
  // Replays of accepted agent-signed requests, and unknown routes and methods.
  const replays = fx.accepted.flatMap((a) => Array.from({ length: 25 }, () => a));
  progress(`  ${ops.length} operations × ${perOp} generated requests + ${replays.length} replays`);

  const client = new pg.Client({ connectionString: databaseUrl });
  client.on("error", () => {});
  await client.connect();
  const snap = await snapshotter(client);
  let before = await snap.take();
  const failures: FuzzFailure[] = [];
  const writes: {
    op: string;
    labels: string[];
    status: number;
    table: string;
    delta: number;
    request: string;
  }[] = [];
  const changed = new Map<string, number>();
  const statuses = new Map<string, number>();
  const acceptedByOp = new Map<string, number>();
  let sent = 0;
  let rejected = 0;
  let noAnswer = 0;
  const describe = (
    method: string,
    target: string,
    headers: Record<string, string>,
    body?: string | Uint8Array,
  ) =>
    `${method} ${target.slice(0, 160)}${target.length > 160 ? "…" : ""} headers ${JSON.stringify(
      Object.fromEntries(
        Object.entries(headers).map(([k, v]) => [
          k,
          v.length > 80 ? `${v.slice(0, 80)}…(${v.length})` : v,
        ]),
      ),
    )}${body === undefined ? "" : ` body ${typeof body === "string" ? `${body.slice(0, 300)}${body.length > 300 ? `…(${body.length} chars)` : ""}` : `bytes ${Buffer.from(body).toString("hex").slice(0, 80)}`}`}`;

  let closedOnOversized = 0;
  let resetThenAnswered = 0;
  const one = async (
    op: string,
    labels: string[],
    method: string,
    target: string,
    headers: Record<string, string>,
    body?: string | Uint8Array,
    retry?: () => Record<string, string>,
  ) => {
    const answer = await send(
      `${base}${target}`,
      { method, headers, ...(body === undefined ? {} : { body }) },
      20_000,
    );
    sent++;
    const request = describe(method, target, headers, body);
    if (!answer.ok) {
      // The gateway answers 413 to an oversized body before reading it and closes the
      // connection: the client may see the reset instead of the answer. Expected.
      const size = body === undefined ? 0 : typeof body === "string" ? body.length : body.length;
      if (size > 2 * 2 ** 20 && gateway.isRunning()) {
        closedOnOversized++;
        return;
      }
      // A reset of a reused keep-alive socket is the client's race: send again once.
      if (retry !== undefined && gateway.isRunning()) {
        const again = await send(
          `${base}${target}`,
          { method, headers: retry(), ...(body === undefined ? {} : { body }) },
          20_000,
        );
        if (again.ok && again.status < 500) {
          resetThenAnswered++;
          return;
        }
      }
      noAnswer++;
      failures.push({ op, labels, request, status: answer.error, response: "" });
      if (!gateway.isRunning()) {
        progress(`  the gateway DIED on: ${request.slice(0, 300)}`);
        await gateway.restart();
      }
      return;
    }
    const key = `${answer.status} ${codeOf(answer) ?? ""}`.trim();
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    if (answer.status >= 500) {
      failures.push({
        op,
        labels,
        request,
        status: answer.status,
        response: answer.text.slice(0, 600),
      });
    }
    const after = await snap.take();
    if (answer.status >= 400) {
      rejected++;
      for (const t of snap.tables) {
        const b = before.get(t);
        const a = after.get(t);
        if (b === undefined || a === undefined) continue;
        if (a.n > b.n)
          writes.push({ op, labels, status: answer.status, table: t, delta: a.n - b.n, request });
        else if (a.h !== b.h) changed.set(t, (changed.get(t) ?? 0) + 1);
      }
    } else {
      acceptedByOp.set(op, (acceptedByOp.get(op) ?? 0) + 1);
    }
    before = after;
  };

  for (const p of planned) {
    const make = () => {
      const headers = credentials(p, fx);
      if (p.body.text !== undefined) headers["content-type"] = p.body.contentType;
      return headers;
    };
    await one(p.op, p.labels, p.method, p.target, make(), p.body.text, make);
    if (sent % 1000 === 0) {
      progress(
        `  ${fmt(sent)}/${fmt(planned.length + replays.length)} sent: ${failures.length} 5xx/no answer, ${writes.length} writes by rejected requests`,
      );
    }
  }
  for (const r of replays) {
    await one(
      `${r.method} ${r.target.split("/").slice(0, 3).join("/")}… (replay)`,
      ["replayed agent-signed request"],
      r.method,
      r.target,
      r.headers,
      r.body,
    );
  }
  // Expired: an accepted request's headers once its expiry has passed are covered by
  // "agent-expired"; a replay is refused before its expiry matters.
  await client.end();
  await gateway.stop();
  const replayCodes = statuses.get("409 GATEWAY_REQUEST_REPLAYED") ?? 0;
  const rowsWritten = writes.reduce((s, w) => s + w.delta, 0);
  const notes = [
    `${fmt(sent)} requests over ${ops.length} operations (seed ${options.seed}); ${fmt(rejected)} rejected (4xx), ${fmt(sent - rejected - failures.length)} accepted (valid by chance or fixtures; their writes are legitimate and not counted)`,
    `answers: ${[...statuses]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 14)
      .map(([k, v]) => `${k} ×${fmt(v)}`)
      .join(", ")}`,
    `replays of accepted agent-signed requests answered GATEWAY_REQUEST_REPLAYED: ${replayCodes}/${replays.length}`,
    "rows written by rejected requests: the row count of every table (all tables, no exclusions) before and after each rejected request",
  ];
  if (changed.size > 0) {
    notes.push(
      `tables whose content changed without a new row after a rejected request: ${[...changed].map(([t, n]) => `${t} ×${n}`).join(", ")}`,
    );
  }
  if (acceptedByOp.size > 0) {
    notes.push(`accepted by route: ${[...acceptedByOp].map(([k, v]) => `${k} ×${v}`).join(", ")}`);
  }
  for (const w of writes.slice(0, 5)) {
    notes.push(
      `WRITE BY REJECTED REQUEST: ${w.status} ${w.op} [${w.labels.join("; ")}] +${w.delta} ${w.table}: ${w.request.slice(0, 300)}`,
    );
  }
  const byKind = new Map<string, FuzzFailure>();
  for (const f of failures) {
    const k = `${f.op} ${f.status} ${f.labels[0] ?? ""}`;
    if (!byKind.has(k)) byKind.set(k, f);
  }
  for (const f of [...byKind.values()].slice(0, 10)) {
    notes.push(
      `5xx: ${f.status} on ${f.op} [${f.labels.join("; ")}]: ${f.request.slice(0, 300)} → ${f.response.slice(0, 300)}`,
    );
  }
  if (noAnswer > 0) notes.push(`NO ANSWER (timeout/reset, twice) ${noAnswer}×`);
  notes.push(
    `connection closed while sending a 3 MiB body (the 413 comes first; expected): ${closedOnOversized}; reset on a reused socket then answered on a second try: ${resetThenAnswered}`,
  );
  return {
    scenario: "bad requests from /openapi.json",
    load: `${fmt(sent)} requests, ${ops.length} routes`,
    faults:
      "bad types, missing/extra fields, huge, bad hex, malformed JSON, content types, auth, replays, expired",
    badInputs: sent,
    actionsLost: 0,
    http5xx: failures.length,
    seconds: (performance.now() - started) / 1000,
    notes,
    failures,
    measures: { http_5xx: failures.length, rows_written_by_rejected: rowsWritten },
  };
}
