// A governance simulation run in the ChaosCore sandbox: given the DAO's
// treasury and a grant proposal, project the treasury over twelve months
// with a seeded market model. Deterministic: the same input and seed give the
// same output bytes, so anyone can replay it.
export default function main(input, host) {
  const { treasury, grant, monthlyBurn } = input;
  let balance = treasury - grant;
  const path = [];
  for (let month = 1; month <= 12; month++) {
    const market = 0.97 + host.random() * 0.06; // ±3% a month
    balance = Math.round((balance - monthlyBurn) * market);
    path.push(balance);
  }
  host.log(`simulated 12 months from ${treasury} with a grant of ${grant}`);
  return { runwayOk: path.every((b) => b > 0), final: balance, path };
}
