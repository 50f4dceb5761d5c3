// expect: EXECUTION_BAD_OUTPUT
// A proxy whose traps throw while the output is serialized.
export default function main() {
  return new Proxy(
    {},
    {
      ownKeys() {
        throw new Error("no keys for you");
      },
    },
  );
}
