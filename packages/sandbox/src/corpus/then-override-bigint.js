// expect: EXECUTION_BAD_OUTPUT
// issue 21: with then overridden, a non-JSON output is still refused.
export default function main() {
  Promise.prototype.then = function (resolve) {
    return resolve({ wei: 1n });
  };
  return Promise.resolve({ wei: 10n ** 18n });
}
