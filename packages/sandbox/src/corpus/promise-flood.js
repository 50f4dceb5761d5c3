// expect: EXECUTION_CPU_LIMIT
// An endless stream of promise jobs, and a main that never resolves: the jobs
// run under the same instruction budget.
export default function main() {
  const flood = () => {
    Promise.resolve().then(flood);
  };
  flood();
  return new Promise(() => {});
}
