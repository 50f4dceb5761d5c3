// expect: output {"a":1,"list":[1,2],"captured":0}
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), categories 14,
// 20 and 28: getters and setters on Object.prototype and Array.prototype that
// fire when sandbox internals read or write plain objects and arrays.
export default function main(input, host) {
  Object.defineProperty(Object.prototype, "then", {
    get() {
      return (resolve) => resolve("forged by then");
    },
    configurable: true,
  });
  Object.defineProperty(Object.prototype, "toJSON", {
    get() {
      return undefined;
    },
    configurable: true,
  });
  let captured = 0;
  Object.defineProperty(Array.prototype, "0", {
    set() {
      captured++;
    },
    configurable: true,
  });
  Object.defineProperty(Object.prototype, "name", { value: "InternalError", configurable: true });
  host.log("line");
  return { a: 1, list: [1, 2], captured };
}
