// The Governance Studio's simulation, run in the ChaosCore sandbox (QuickJS,
// deterministic: a fixed clock and a seeded PRNG), attested by the TEE.
//
// Input: { dao, proposal } — the mock DAO (treasury, monthlyBurn, parameters
// { quorum, votingPeriodSeconds, maxGrant }, grantsPaid) and one proposal
// ({ kind: "grant", amount, ... } or { kind: "parameter", parameter, value }).
// Output: { treasuryAfter, runwayMonths, riskScore, recommendation }.
//
// treasuryAfter is exact (what executing the proposal leaves in the
// treasury); riskScore is the share of 200 seeded 24-month market paths in
// which the treasury falls below six months of burn, raised for parameter
// changes that weaken governance. The recommendation is "approve" below a
// risk of 0.5. The same input and seed always give the same output bytes.
export default function main(input, host) {
  const { dao, proposal } = input;
  const burn =
    proposal.kind === "parameter" && proposal.parameter === "monthlyBurn"
      ? proposal.value
      : dao.monthlyBurn;
  const treasuryAfter = proposal.kind === "grant" ? dao.treasury - proposal.amount : dao.treasury;
  const runwayMonths = burn > 0 ? Math.floor(treasuryAfter / burn) : 1200;

  const paths = 200;
  let shortfalls = 0;
  for (let i = 0; i < paths; i++) {
    let balance = treasuryAfter;
    for (let month = 0; month < 24; month++) {
      balance = (balance - burn) * (0.96 + host.random() * 0.08); // ±4% a month
      if (balance < 6 * burn) {
        shortfalls++;
        break;
      }
    }
  }
  let risk = shortfalls / paths;
  if (proposal.kind === "parameter") {
    const v = proposal.value;
    if (proposal.parameter === "quorum" && v < 0.2) risk = Math.max(risk, 0.8);
    if (proposal.parameter === "votingPeriodSeconds" && v < 86400) risk = Math.max(risk, 0.6);
    if (proposal.parameter === "maxGrant" && v > dao.treasury / 4) risk = Math.max(risk, 0.7);
  }
  const riskScore = Math.round(risk * 10000) / 10000;
  host.log(`${proposal.kind} ${proposal.id}: runway ${runwayMonths} months, risk ${riskScore}`);
  return {
    treasuryAfter,
    runwayMonths,
    riskScore,
    recommendation: riskScore < 0.5 ? "approve" : "reject",
  };
}
