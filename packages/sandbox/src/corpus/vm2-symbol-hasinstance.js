// expect: output {"fooled":true,"species":true,"process":"undefined","viaHost":"undefined"}
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), category 3: override
// Symbol.hasInstance and Symbol.species to confuse type checks, then look for
// a host constructor through what comes back.
export default function main(input, host) {
  Object.defineProperty(Array, Symbol.hasInstance, { value: () => true });
  class FakePromise extends Promise {}
  const p = Promise.resolve(1);
  p.constructor = { [Symbol.species]: FakePromise };
  const q = p.then((x) => x);
  return {
    fooled: {} instanceof Array,
    species: q instanceof FakePromise,
    process: q.constructor.constructor("return typeof process")(),
    viaHost: host.log instanceof Function ? typeof host.log.constructor("return this")().process : "no",
  };
}
