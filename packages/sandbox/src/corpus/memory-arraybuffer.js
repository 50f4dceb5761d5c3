// expect: EXECUTION_MEMORY_LIMIT
// Ask for a 1 GiB ArrayBuffer at once.
export default function main() {
  const buffer = new ArrayBuffer(1024 * 1024 * 1024);
  return buffer.byteLength;
}
