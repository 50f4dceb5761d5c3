// expect: output {"callee":"TypeError","logCaller":"TypeError","logArguments":"TypeError","sloppyCaller":"undefined","callerInsideLog":"TypeError"}
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), category 5:
// arguments.callee and Function.caller to climb to a host function. The
// module is strict code, and the host functions are not reachable this way.
export default function main(input, host) {
  const out = {};
  const attempt = (k, f) => {
    try {
      const v = f();
      out[k] = v === null ? "null" : typeof v;
    } catch (e) {
      out[k] = e.constructor.name;
    }
  };
  attempt("callee", () => arguments.callee);
  attempt("logCaller", () => host.log.caller);
  attempt("logArguments", () => host.log.arguments);
  attempt("sloppyCaller", () => Function("return (function f() { return f.caller; })()")());
  host.log((function probe() {
    attempt("callerInsideLog", () => probe.caller);
    return "x";
  })());
  return out;
}
