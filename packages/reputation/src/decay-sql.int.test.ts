import type { Db } from "@chaoscore/log";
import { openTestDb, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decayedMassSql, decaySql, foldMassSql, mulSql } from "./decay-sql.js";
import {
  DECAY_HORIZON_HALF_LIVES,
  DEFAULT_HALF_LIFE_SECONDS,
  decayedMass,
  decayFactor,
  FLUSH_BELOW,
  foldMass,
  mulFlushed,
} from "./model.js";

/** A seeded PRNG (mulberry32): the same inputs on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Distance in units in the last place between two finite doubles of the same sign. */
function ulps(a: number, b: number): number {
  if (a === b) return 0;
  const view = new DataView(new ArrayBuffer(16));
  view.setFloat64(0, a);
  view.setFloat64(8, b);
  const d = view.getBigInt64(0) - view.getBigInt64(8);
  return Number(d < 0n ? -d : d);
}

type Case = {
  dt: number;
  h: number;
  a: number;
  b: number;
  stored: number;
  last: number;
  mass: number;
  t: number;
};

const N = 4000;

/** Inputs across every branch: Δt ≤ 0, around the horizon, tiny factors, ordinary values. */
function cases(): Case[] {
  const rnd = random(20);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const logUniform = (lo: number, hi: number) => 10 ** (lo + (hi - lo) * rnd());
  const halfLives = [1, 3600, DEFAULT_HALF_LIFE_SECONDS, 1e9, 0.37 + 1e6 * rnd()];
  const factor = () =>
    pick([
      0,
      FLUSH_BELOW,
      FLUSH_BELOW * 0.999,
      FLUSH_BELOW * 1.001,
      1e-200,
      logUniform(-160, -140),
      logUniform(-20, 20),
      -logUniform(-20, 20),
      rnd(),
    ]);
  const out: Case[] = [];
  for (let i = 0; i < N; i++) {
    const h = pick(halfLives);
    const halves = pick([
      0,
      -rnd() * 10,
      rnd() * 2,
      rnd() * 60,
      logUniform(-6, 4),
      DECAY_HORIZON_HALF_LIVES,
      DECAY_HORIZON_HALF_LIVES * (1 - 1e-15),
      DECAY_HORIZON_HALF_LIVES * (1 + 1e-15),
      DECAY_HORIZON_HALF_LIVES + rnd() * 10,
      logUniform(3, 6),
    ]);
    const last = 1_750_000_000 + Math.round(rnd() * 1e8) / 64;
    const dt = halves * h;
    out.push({
      dt,
      h,
      a: factor(),
      b: factor(),
      stored: 1 + Math.abs(factor()),
      last,
      mass: Math.abs(factor()),
      t: pick([last + dt, last - dt, last]),
    });
  }
  return out;
}

describe(`decay SQL equals the TypeScript model (${TEST_DB_KIND})`, () => {
  let db: Db;
  let drop: () => Promise<void>;
  const inputs = cases();
  let rows: { decay: number; mul: number; fold: number; decayed: number }[];

  beforeAll(async () => {
    ({ db, drop } = await openTestDb());
    const col = (k: keyof Case) => inputs.map((c) => c[k]);
    rows = await db.query(
      `SELECT ${decaySql("u.dt", "u.h")} AS decay, ${mulSql("u.a", "u.b")} AS mul,
              ${foldMassSql("u.stored", "u.last", "u.mass", "u.t", "u.h")} AS fold,
              ${decayedMassSql("u.stored", "u.last", "u.t", "u.h")} AS decayed
       FROM unnest($1::float8[], $2::float8[], $3::float8[], $4::float8[], $5::float8[],
                   $6::float8[], $7::float8[], $8::float8[])
         WITH ORDINALITY AS u(dt, h, a, b, stored, last, mass, t, i)
       ORDER BY u.i`,
      [col("dt"), col("h"), col("a"), col("b"), col("stored"), col("last"), col("mass"), col("t")],
    );
  });
  afterAll(() => drop?.());

  it("covers every branch of the definitions", () => {
    expect(rows).toHaveLength(N);
    const n = (p: (c: Case) => boolean) => inputs.filter(p).length;
    expect(n((c) => c.dt <= 0)).toBeGreaterThan(100);
    expect(n((c) => c.dt / c.h > DECAY_HORIZON_HALF_LIVES)).toBeGreaterThan(100);
    expect(n((c) => c.dt > 0 && c.dt / c.h <= DECAY_HORIZON_HALF_LIVES)).toBeGreaterThan(1000);
    expect(n((c) => c.dt / c.h === DECAY_HORIZON_HALF_LIVES)).toBeGreaterThan(10);
    expect(n((c) => Math.abs(c.a) < FLUSH_BELOW && c.a !== 0)).toBeGreaterThan(100);
    expect(n((c) => c.t < c.last)).toBeGreaterThan(1000);
    expect(n((c) => c.t > c.last)).toBeGreaterThan(1000);
  });

  it("decaySql is decayFactor, mulSql is mulFlushed (to the last bit but pow's)", () => {
    let inexact = 0;
    inputs.forEach((c, i) => {
      const row = rows[i] as (typeof rows)[number];
      expect(Number(row.mul)).toBe(mulFlushed(c.a, c.b));
      const ts = decayFactor(c.dt, c.h);
      const sql = Number(row.decay);
      // Postgres's power() is the C library's pow, JavaScript's ** V8's own: ≤ 1 ulp apart.
      expect(ulps(sql, ts), `decay(${c.dt}, ${c.h}): ${sql} vs ${ts}`).toBeLessThanOrEqual(1);
      if (sql !== ts) inexact++;
    });
    console.info(`decay: ${N - inexact}/${N} bit-identical, the rest 1 ulp apart`);
  });

  it("foldMassSql is foldMass and decayedMassSql is decayedMass", () => {
    let worst = 0;
    inputs.forEach((c, i) => {
      const row = rows[i] as (typeof rows)[number];
      const fold = foldMass(c.stored, c.last, c.mass, c.t, c.h);
      const decayed = decayedMass(c.stored, c.last, c.t, c.h);
      worst = Math.max(worst, ulps(Number(row.fold), fold), ulps(Number(row.decayed), decayed));
      // One ulp of pow, scaled by the stored mass, then rounded once more by the addition.
      expect(ulps(Number(row.fold), fold), `fold ${JSON.stringify(c)}`).toBeLessThanOrEqual(2);
      expect(
        ulps(Number(row.decayed), decayed),
        `decayed ${JSON.stringify(c)}`,
      ).toBeLessThanOrEqual(2);
    });
    console.info(`fold/decayed: worst ${worst} ulp over ${N} inputs`);
  });

  it("catches a drifted definition (the comparison can fail)", async () => {
    // The same SQL with the horizon test off by one comparison (≥ for >): the inputs at the
    // horizon must tell it apart, as they would a changed constant or a changed formula.
    const drifted = decaySql("u.dt", "u.h").replace(") > ", ") >= ");
    expect(drifted).not.toBe(decaySql("u.dt", "u.h"));
    const out = await db.query<{ decay: number }>(
      `SELECT ${drifted} AS decay
       FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS u(dt, h, i) ORDER BY u.i`,
      [inputs.map((c) => c.dt), inputs.map((c) => c.h)],
    );
    const off = inputs.filter((c, i) => ulps(Number(out[i]?.decay), decayFactor(c.dt, c.h)) > 1);
    expect(off.length).toBeGreaterThan(10);
    expect(off.every((c) => c.dt / c.h === DECAY_HORIZON_HALF_LIVES)).toBe(true);
  });
});
