// expect: output {"caught":"TypeError","constructorIsGuestFunction":true,"frozen":true,"globalProcess":"undefined","viaCallee":"undefined"}
// Walk the constructor of the host-provided `log` function and try to
// mutate the host object. `log` is a guest function wrapping a hidden host
// callback; its constructor is the guest's Function, and `host` is frozen.
export default function main(input, host) {
  const F = host.log.constructor;
  const out = {
    constructorIsGuestFunction: F === Function,
    globalProcess: F("return typeof process")(),
    viaCallee: F.constructor("return typeof require")(),
    frozen: Object.isFrozen(host),
  };
  try {
    host.log = () => "hijacked";
  } catch (e) {
    out.caught = e.constructor.name;
  }
  return out;
}
