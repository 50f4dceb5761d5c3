// expect: EXECUTION_BAD_OUTPUT
// A BigInt is not JSON.
export default function main() {
  return { wei: 10n ** 18n };
}
