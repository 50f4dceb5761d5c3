// expect: output ["undefined","resolved"]
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), category 7: promise
// species and a stolen Promise.all with a fake constructor, to receive an
// unsanitised rejection; every value here is the guest's own.
export default async function main() {
  const got = [];
  class FakePromise {
    constructor(executor) {
      executor(
        (v) => got.push("resolved"),
        (err) => got.push(err.constructor.constructor("return typeof process")()),
      );
    }
    static resolve(v) {
      return Promise.resolve(v);
    }
  }
  const p = Promise.reject(new Error("boom"));
  p.constructor = { [Symbol.species]: FakePromise };
  p.then(null, () => {});
  FakePromise.all = Promise.all;
  try {
    FakePromise.all({ [Symbol.iterator]() { throw new TypeError("iteration"); } });
  } catch (e) {
    got.push("threw " + e.constructor.name);
  }
  await null;
  return got;
}
