// expect: output {"ctorNow":0,"date":"Thu Jan 01 1970 00:00:00 GMT+0000","hours":0,"iso":"1970-01-01T00:00:00.000Z","local":1577836800000,"localParse":1577836800000,"now":0,"offset":0,"performance":"undefined","protoCtorNow":0,"hostNow":0}
// Read the time every way there is: all of them give the fixed clock (0
// in the corpus test), and local time is UTC whatever the host's time zone.
export default function main(input, host) {
  return {
    now: Date.now(),
    iso: new Date().toISOString(),
    date: Date(),
    hours: new Date().getHours(),
    offset: new Date().getTimezoneOffset(),
    local: new Date(2020, 0, 1).getTime(),
    localParse: Date.parse("2020-01-01T00:00"),
    ctorNow: new Date().constructor.now(),
    protoCtorNow: Object.getPrototypeOf(new Date()).constructor.now(),
    performance: typeof performance,
    hostNow: host.now(),
  };
}
