// expect: output {"logged":true,"seen":["toJSON","ownKeys","toJSON","ownKeys"]}
// Adapted from vm2's attack catalogue (patriksimek/vm2 docs/ATTACKS.md, MIT,
// Copyright (c) 2014-2025 Patrik Simek and contributors), category 6: proxies
// whose traps run when the host API touches them, recording what the host
// side asks for (nothing of the host is passed to a trap).
export default function main(input, host) {
  const seen = [];
  const spy = new Proxy(
    {},
    {
      get(target, key, receiver) {
        seen.push(typeof key === "symbol" ? "symbol" : String(key));
        return Reflect.get(target, key, receiver);
      },
      ownKeys() {
        seen.push("ownKeys");
        return [];
      },
    },
  );
  host.log(spy);
  console.log(spy);
  return { logged: true, seen: seen.slice(0, 20) };
}
