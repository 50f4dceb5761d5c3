// The guest-side prelude of the sandbox (plain JavaScript, shared by the
// worker that evaluates it and by sandbox.ts, which hashes it into the runtime
// identity).
/**
 * The guest-side prelude, evaluated as a global script in every fresh
 * context before the agent's module. Its completion value is `setup`, which
 * installs the host API and the determinism patches and returns `{ run,
 * serialize }`.
 * Its SHA-256 is part of the runtime identity (and so of the measurement):
 * keep it byte-for-byte stable, and bump SANDBOX_VERSION in sandbox.ts when
 * it changes.
 */
export const PRELUDE = `(function () {
"use strict";
return function setup(hostLog, clock, s0, s1, s2, s3) {
  const G = globalThis;
  const apply = Reflect.apply, construct = Reflect.construct, defineProperty = Object.defineProperty;
  const freeze = Object.freeze, stringify = JSON.stringify, parse = JSON.parse;
  const imul = Math.imul, isFinite_ = Number.isFinite, StringCtor = String;
  const def = (o, k, v) => defineProperty(o, k, { value: v, writable: true, configurable: true, enumerable: false });

  // Seeded PRNG: xoshiro128** over 4 uint32 words (the first 16 bytes of
  // SHA-256(UTF-8 seed), big-endian); random() = (x >>> 5) * 2^26 + (y >>> 6), / 2^53.
  let a = s0 >>> 0, b = s1 >>> 0, c = s2 >>> 0, d = s3 >>> 0;
  const rotl = (x, k) => (x << k) | (x >>> (32 - k));
  const next32 = () => {
    const r = imul(rotl(imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t; d = rotl(d, 11);
    return r;
  };
  const random = function random() {
    const hi = next32() >>> 5, lo = next32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  };
  def(Math, "random", random);

  // Fixed clock and UTC-only local time (the host's time zone must not leak).
  const RealDate = Date, dp = RealDate.prototype;
  const getTime = dp.getTime, realParse = RealDate.parse, realUTC = RealDate.UTC;
  const setUTCFullYear = dp.setUTCFullYear;
  const timeOf = (x) => apply(getTime, x, []);
  for (const n of ["FullYear", "Month", "Date", "Day", "Hours", "Minutes", "Seconds", "Milliseconds"]) {
    def(dp, "get" + n, dp["getUTC" + n]);
    if (n !== "Day") def(dp, "set" + n, dp["setUTC" + n]);
  }
  def(dp, "getTimezoneOffset", function getTimezoneOffset() { const t = timeOf(this); return t !== t ? NaN : 0; });
  if (typeof dp.getYear === "function") {
    def(dp, "getYear", function getYear() { const t = timeOf(this); return t !== t ? NaN : this.getUTCFullYear() - 1900; });
  }
  if (typeof dp.setYear === "function") {
    def(dp, "setYear", function setYear(y) {
      y = +y; const i = Math.trunc(y);
      return apply(setUTCFullYear, this, [i >= 0 && i <= 99 ? 1900 + i : y]);
    });
  }
  const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p2 = (n) => (n < 10 ? "0" : "") + n;
  const year = (y) => (y < 0 ? "-" + StringCtor(-y).padStart(6, "0") : StringCtor(y).padStart(4, "0"));
  const datePart = (x) => DAYS[x.getUTCDay()] + " " + MONTHS[x.getUTCMonth()] + " " + p2(x.getUTCDate()) + " " + year(x.getUTCFullYear());
  const timePart = (x) => p2(x.getUTCHours()) + ":" + p2(x.getUTCMinutes()) + ":" + p2(x.getUTCSeconds()) + " GMT+0000";
  const localeDate = (x) => p2(x.getUTCMonth() + 1) + "/" + p2(x.getUTCDate()) + "/" + year(x.getUTCFullYear());
  const localeTime = (x) => { const h = x.getUTCHours(); return p2(h % 12 || 12) + ":" + p2(x.getUTCMinutes()) + ":" + p2(x.getUTCSeconds()) + (h < 12 ? " AM" : " PM"); };
  const fmt = (f) => function () { const t = timeOf(this); return t !== t ? "Invalid Date" : f(this); };
  def(dp, "toString", fmt((x) => datePart(x) + " " + timePart(x)));
  def(dp, "toDateString", fmt(datePart));
  def(dp, "toTimeString", fmt(timePart));
  def(dp, "toLocaleString", fmt((x) => localeDate(x) + ", " + localeTime(x)));
  def(dp, "toLocaleDateString", fmt(localeDate));
  def(dp, "toLocaleTimeString", fmt(localeTime));
  const ISO = /^([+-]\\d{6}|\\d{4})(?:-\\d{2}(?:-\\d{2})?)?(T\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?)?(Z|[+-]\\d{2}:\\d{2})?$/;
  const ZONE = /(?:^|[^A-Za-z])(?:GMT|UTC|UT|Z|[ECMP][SD]T)(?![A-Za-z])|[+-]\\d{2}:?\\d{2}\\s*(?:\\([^)]*\\))?\\s*$/i;
  const parseUTC = function parse(text) {
    const s = StringCtor(text), m = ISO.exec(s);
    if (m !== null) return m[2] !== undefined && m[3] === undefined ? realParse(s + "Z") : realParse(s);
    return ZONE.test(s) ? realParse(s) : realParse(s + " GMT");
  };
  const toPrimitive = (v) => {
    const f = v[Symbol.toPrimitive];
    if (f !== undefined && f !== null) return apply(f, v, ["default"]);
    for (const k of ["valueOf", "toString"]) {
      const g = v[k];
      if (typeof g === "function") { const r = apply(g, v, []); if (r === null || (typeof r !== "object" && typeof r !== "function")) return r; }
    }
    throw new TypeError("cannot convert object to primitive value");
  };
  const isDate = (v) => { try { timeOf(v); return true; } catch { return false; } };
  const FixedDate = new Proxy(RealDate, {
    apply() { return apply(dp.toString, construct(RealDate, [clock]), []); },
    construct(target, args, newTarget) {
      let t;
      if (args.length === 0) t = clock;
      else if (args.length === 1) {
        let v = args[0];
        if (v !== null && (typeof v === "object" || typeof v === "function")) v = isDate(v) ? timeOf(v) : toPrimitive(v);
        t = typeof v === "string" ? parseUTC(v) : v;
      } else t = apply(realUTC, undefined, args);
      return construct(RealDate, [t], newTarget === FixedDate ? RealDate : newTarget);
    },
  });
  def(RealDate, "now", function now() { return clock; });
  def(RealDate, "parse", parseUTC);
  def(dp, "constructor", FixedDate);
  def(G, "Date", FixedDate);

  // No GC-timing or shared-memory observables.
  for (const k of ["WeakRef", "FinalizationRegistry", "SharedArrayBuffer", "Atomics"]) delete G[k];

  // The host API.
  const describe = (v) => {
    let s;
    try { s = typeof v === "string" ? v : stringify(v); } catch { s = undefined; }
    if (s === undefined) { try { s = StringCtor(v); } catch { s = "[unprintable]"; } }
    return s;
  };
  const log = function log(...args) {
    let line = "";
    for (let i = 0; i < args.length; i++) line += (i === 0 ? "" : " ") + describe(args[i]);
    return hostLog(line) === true;
  };
  const host = freeze({ log, random, now: function now() { return clock; } });
  def(G, "console", freeze({ log, info: log, warn: log, error: log, debug: log }));

  const strict = (key, value) => {
    const t = typeof value;
    if (t === "number" && !isFinite_(value)) throw new TypeError("a number in the output is not finite");
    if (t === "undefined" || t === "function" || t === "symbol" || t === "bigint") {
      throw new TypeError("the output holds a " + t + (key === "" ? "" : " at key " + StringCtor(key).slice(0, 100)));
    }
    return value;
  };
  // The host awaits main's promise through the engine's own promise state,
  // then calls serialize (JSON.stringify as captured here, before any agent
  // code ran) and checks what it gets back; no check runs in guest code.
  const run = function run(ns, inputText) {
    const input = parse(inputText);
    const main = typeof ns.default === "function" ? ns.default : typeof ns.main === "function" ? ns.main : undefined;
    if (main === undefined) throw new TypeError("the module exports neither a default function nor a main function");
    return main(input, host);
  };
  const serialize = function serialize(v) { return stringify(v, strict); };
  return freeze({ run, serialize });
};
})()`;
