// expect: output {"direct":2,"globals":["process","require"],"indirect":"undefined"}
// eval and new Function work, inside the sandbox only.
export default function main() {
  const direct = eval("1 + 1");
  const indirect = (0, eval)("typeof process");
  const g = new Function("return globalThis")();
  const globals = ["process", "require"].filter((k) => !(k in g));
  return { direct, indirect, globals };
}
