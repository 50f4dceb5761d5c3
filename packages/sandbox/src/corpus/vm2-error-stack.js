// expect: output {"stackType":"string","symbolStack":"string","caughtName":"TypeError","caughtProcess":"undefined"}
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), category 4: error
// objects as vehicles — Error.prepareStackTrace, and a Symbol name forcing a
// TypeError while the stack is formatted, caught to reach its constructor.
export default function main() {
  const out = {};
  Error.prepareStackTrace = (err, callSites) => callSites.map((c) => typeof c.getThis);
  out.stackType = typeof new Error("x").stack;
  const e = new Error();
  e.name = Symbol("s");
  try {
    out.symbolStack = typeof e.stack;
    out.symbolString = String(e);
  } catch (t) {
    out.caughtName = t.constructor.name;
    out.caughtProcess = t.constructor.constructor("return typeof process")();
  }
  return out;
}
