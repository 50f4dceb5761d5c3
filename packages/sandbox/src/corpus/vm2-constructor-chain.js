// expect: output {"global":"undefined","proto":"undefined","hostLog":"undefined","hostRandom":"undefined","input":"undefined","caught":"undefined"}
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), category 1: walk
// constructor chains from every object at hand (the global, an error, the
// host API) to a Function constructor and ask it for the host's process.
export default function main(input, host) {
  const tries = {
    global: () => globalThis.constructor.constructor("return typeof process")(),
    proto: () => Object.getPrototypeOf(globalThis).constructor.constructor("return typeof require")(),
    hostLog: () => host.log.constructor("return typeof process")(),
    hostRandom: () => host.random.constructor.constructor("return typeof process")(),
    input: () => input.constructor.constructor("return typeof process")(),
    caught: () => {
      try {
        undefinedFunction();
      } catch (e) {
        return e.constructor.constructor("return typeof process")();
      }
    },
  };
  const out = {};
  for (const [k, f] of Object.entries(tries)) out[k] = f();
  return out;
}
