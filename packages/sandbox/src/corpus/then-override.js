// expect: output {"real":true}
// issue 21: Promise.prototype.then overridden to skip the output checks or
// to hand the host a forged answer. The host awaits main's promise through
// the engine's promise state and serialises the value itself.
export default async function main() {
  Promise.prototype.then = function () {
    return "R{\"forged\":true}";
  };
  JSON.stringify = () => "{\"forged\":true}";
  return { real: true };
}
