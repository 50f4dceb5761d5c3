/**
 * `Idempotency-Key` on writes: the first request with a key reserves it (the
 * lease is renewed while it runs), a success stores its answer, a failure
 * releases the key; a repeat of a stored request gets the stored answer with
 * `Idempotent-Replayed: true`. The store is idempotency.ts.
 * @module
 */
import { ChaosCoreError } from "@chaoscore/core";
import { principalId, requestHash } from "./auth.js";
import type { GatewayApp } from "./gateway-options.js";
import type { IdempotencyStore } from "./idempotency.js";

const IDEMPOTENCY_RE = /^[\x21-\x7e]{1,200}$/;

/**
 * Adds the idempotency hooks (after authentication: keys are per principal)
 * and a purge of expired answers and abandoned reservations every 10 minutes.
 * @throws {ChaosCoreError} (in the hook) GATEWAY_REQUEST_INVALID for a
 * malformed key, the codes of `IdempotencyStore.begin` for a key in use or
 * reused with another request.
 */
export function honourIdempotencyKeys(app: GatewayApp, idempotency: IdempotencyStore): void {
  app.addHook("preHandler", async (request, reply) => {
    const key = request.headers["idempotency-key"];
    if (key === undefined || request.method === "GET" || request.method === "HEAD") return;
    if (typeof key !== "string" || !IDEMPOTENCY_RE.test(key)) {
      throw new ChaosCoreError(
        "GATEWAY_REQUEST_INVALID",
        "Idempotency-Key is 1 to 200 visible ASCII characters",
      );
    }
    const principal = principalId(request.principal, request.ip);
    const hash = requestHash(request.method, request.url, request.rawBody);
    const decision = await idempotency.begin(principal, key, hash);
    if (decision.kind === "replay") {
      reply.header("idempotent-replayed", "true");
      return reply.code(decision.status).send(decision.response);
    }
    // The reservation lives while the request runs: renewed every third of the lease.
    const { holder } = decision;
    const renewal = setInterval(
      () => void idempotency.renew(principal, key, holder).catch(() => {}),
      (idempotency.leaseSeconds * 1000) / 3,
    );
    renewal.unref();
    request.idempotency = { principal, key, holder, renewal };
  });
  // Callback hooks: a request without a key (most) costs no promise here.
  app.addHook("onResponse", (request, _reply, done) => {
    if (request.idempotency !== undefined) clearInterval(request.idempotency.renewal);
    done();
  });
  app.addHook("onSend", (request, reply, payload, done) => {
    const pending = request.idempotency;
    if (pending === undefined) return done(null, payload);
    clearInterval(pending.renewal);
    const settled =
      reply.statusCode < 300 && typeof payload === "string"
        ? idempotency.complete(
            pending.principal,
            pending.key,
            pending.holder,
            reply.statusCode,
            payload,
          )
        : idempotency.release(pending.principal, pending.key, pending.holder);
    settled.then(() => done(null, payload), done);
  });
  // Answers past their retention and abandoned reservations are purged every 10 minutes.
  const purge = setInterval(
    () => void idempotency.purge().catch((err) => app.log.warn({ err }, "idempotency purge")),
    600_000,
  );
  purge.unref();
  app.addHook("onClose", async () => clearInterval(purge));
}
