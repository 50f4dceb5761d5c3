import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import helmet from "helmet";
import { describe, expect, it } from "vitest";
import { HELMET_OPTIONS, helmetHeaders } from "./security-headers.js";

/** What helmet's own middleware sets on a real response. */
function setByHelmet(options: Parameters<typeof helmet>[0]): Record<string, unknown> {
  const req = new IncomingMessage(new Socket());
  const res = new ServerResponse(req);
  res.setHeader("x-powered-by", "something");
  let passed = false;
  helmet(options)(req, res, () => {
    passed = true;
  });
  expect(passed).toBe(true);
  return res.getHeaders();
}

describe("security headers computed once", () => {
  it("are exactly the headers helmet's middleware sets on a response, with the gateway's options", () => {
    const once = helmetHeaders(HELMET_OPTIONS);
    expect(once).toEqual(setByHelmet(HELMET_OPTIONS));
    expect(once["content-security-policy"]).toContain("default-src 'self'");
    expect(once["x-content-type-options"]).toBe("nosniff");
    expect(once["strict-transport-security"]).toMatch(/^max-age=\d+/);
    expect(once["x-powered-by"]).toBeUndefined();
  });

  it("follow helmet's options (another policy gives other headers)", () => {
    const other = { contentSecurityPolicy: false, hsts: false } as const;
    expect(helmetHeaders(other)).toEqual(setByHelmet(other));
    expect(helmetHeaders(other)["content-security-policy"]).toBeUndefined();
    expect(helmetHeaders(other)["strict-transport-security"]).toBeUndefined();
  });

  it("refuse a policy computed per request instead of fixing one value for every answer", () => {
    const perRequest = (req: IncomingMessage) => `'nonce-${req.headers["x-n"] ?? ""}'`;
    expect(() =>
      helmetHeaders({
        contentSecurityPolicy: { directives: { scriptSrc: ["'self'", perRequest] } },
      }),
    ).toThrow(/per request/);
    expect(() =>
      helmetHeaders({
        contentSecurityPolicy: {
          directives: { defaultSrc: ["'self'"], "report-to": perRequest as never },
        },
      }),
    ).toThrow(/per request/);
  });
});
