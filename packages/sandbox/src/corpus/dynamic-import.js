// expect: EXECUTION_CODE_ERROR
// A dynamic import of a Node built-in: the module loader refuses every import.
export default async function main() {
  const fs = await import("fs");
  return fs.readFileSync("/etc/passwd", "utf8");
}
