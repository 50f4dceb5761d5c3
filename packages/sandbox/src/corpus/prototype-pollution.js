// expect: output {"guestSees":"polluted","hostLogStillWorks":true}
// Pollute the prototypes the guest can reach, including through the host
// API and the input. The pollution stays inside this run's QuickJS context:
// the host's Object.prototype is untouched (the test checks it).
export default function main(input, host) {
  Object.prototype.polluted = "polluted";
  Object.getPrototypeOf(input).isAdmin = true;
  Object.getPrototypeOf(host.log).call = () => "hijacked";
  Array.prototype.push = () => 0;
  JSON.stringify = () => '"forged"';
  return { guestSees: {}.polluted, hostLogStillWorks: host.log("still logging") };
}
