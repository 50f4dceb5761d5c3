/**
 * The decay arithmetic of model.ts as SQL expressions, generated from the same
 * constants ({@link DECAY_HORIZON_HALF_LIVES}, {@link FLUSH_BELOW}) and in the
 * same order of operations, one emitter per TypeScript function:
 *
 * | TypeScript ({@link decayFactor} …) | SQL            |
 * | ---------------------------------- | -------------- |
 * | `decayFactor(dt, h)`               | `decaySql`     |
 * | `mulFlushed(a, b)`                 | `mulSql`       |
 * | `foldMass(stored, last, m, t, h)`  | `foldMassSql`  |
 * | `decayedMass(stored, last, t, h)`  | `decayedMassSql` |
 *
 * decay-sql.int.test.ts evaluates each on PGlite (and Postgres with
 * DATABASE_URL) over many inputs and checks it equals the TypeScript.
 * Arguments are SQL expressions (column names, `$n::float8` parameters):
 * they are pasted in, never user input.
 *
 * @module
 */
import { DECAY_HORIZON_HALF_LIVES, FLUSH_BELOW } from "./model.js";

/** A float8 literal that Postgres reads back as exactly `v`. */
function literal(v: number): string {
  return `${v}::float8`;
}

/**
 * `decayFactor(dt, h)`: 2^(−dt/h), 1 for dt ≤ 0, 0 beyond the horizon. `least`
 * keeps `power` from underflowing even where the planner evaluates it early.
 */
export function decaySql(dt: string, h: string): string {
  const horizon = literal(DECAY_HORIZON_HALF_LIVES);
  return `(CASE WHEN (${dt}) <= 0 THEN 1::float8 WHEN (${dt}) / (${h}) > ${horizon} THEN 0::float8
            ELSE power(2::float8, -least((${dt}) / (${h}), ${horizon})) END)`;
}

/**
 * `mulFlushed(a, b)`: a · b, 0 when a factor is below the flush threshold.
 * Postgres raises "value out of range: underflow" when a product of non-zero
 * floats rounds to zero; with both factors ≥ 1e-150 every product is ≥ 1e-300.
 */
export function mulSql(a: string, b: string): string {
  const tiny = literal(FLUSH_BELOW);
  return `(CASE WHEN abs(${a}) < ${tiny} OR abs(${b}) < ${tiny} THEN 0::float8 ELSE (${a}) * (${b}) END)`;
}

/** `foldMass(stored, lastUpdate, mass, t, h)`: α (or β) after adding `mass` at time t. */
export function foldMassSql(
  stored: string,
  lastUpdate: string,
  mass: string,
  t: string,
  h: string,
): string {
  return `(CASE WHEN (${t}) >= (${lastUpdate})
            THEN 1 + ${mulSql(`${stored} - 1`, decaySql(`${t} - ${lastUpdate}`, h))} + (${mass})
            ELSE (${stored}) + ${mulSql(mass, decaySql(`${lastUpdate} - ${t}`, h))} END)`;
}

/** `decayedMass(stored, lastUpdate, t, h)`: α (or β) stored as of `lastUpdate`, decayed to t. */
export function decayedMassSql(stored: string, lastUpdate: string, t: string, h: string): string {
  return `(1 + ${mulSql(`${stored} - 1`, decaySql(`${t} - ${lastUpdate}`, h))})`;
}

/**
 * log₂ of w · 2^(−(asOf − t)/h) for w > 0: orders contributions by their
 * decayed weight ({@link decayFactor}) without underflowing for old ones.
 */
export function log2DecayedWeightSql(w: string, asOf: string, t: string, h: string): string {
  return `(ln(${w}) / ln(2::float8) - ((${asOf}) - (${t})) / (${h}))`;
}
