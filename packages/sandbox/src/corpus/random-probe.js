// expect: deterministic
// Math.random and host.random are the seeded PRNG: two runs with the same
// seed give the same numbers.
export default function main(input, host) {
  const xs = [];
  for (let i = 0; i < 8; i++) xs.push(Math.random(), host.random());
  return { xs, allInRange: xs.every((x) => x >= 0 && x < 1) };
}
