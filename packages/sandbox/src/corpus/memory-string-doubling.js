// expect: EXECUTION_MEMORY_LIMIT
// Double a string until it no longer fits.
export default function main() {
  let s = "chaos";
  for (;;) {
    s = s + s;
    s.charCodeAt(s.length - 1);
  }
}
