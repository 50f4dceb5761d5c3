// expect: EXECUTION_BAD_OUTPUT
// A cyclic object is not JSON.
export default function main() {
  const a = {};
  a.self = a;
  return a;
}
