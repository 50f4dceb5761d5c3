/**
 * The methods each known path answers, so that an undeclared method on a
 * known path is `405 Method Not Allowed` with an `Allow` header
 * (GATEWAY_METHOD_NOT_ALLOWED) and only an unknown path is a 404
 * (GATEWAY_ROUTE_NOT_FOUND).
 * @module
 */

/** A Fastify route URL (`/v1/agents/:id`, `/log/tile/*`) as a regular expression over paths. */
export function routePattern(url: string): RegExp {
  const source = url
    .split("/")
    .map((segment) => {
      if (segment === "*") return ".*";
      if (segment.startsWith(":")) return "[^/]+";
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return new RegExp(`^${source}$`);
}

/** `/v1/agents/:id` → `/v1/agents/{id}`, `/log/tile/*` → `/log/tile/{*}` (OpenAPI paths). */
export function openApiPath(url: string): string {
  return url
    .split("/")
    .map((s) => (s === "*" ? "{*}" : s.startsWith(":") ? `{${s.slice(1)}}` : s))
    .join("/");
}

export class RouteTable {
  readonly #routes: { method: string; pattern: RegExp; statics: number }[] = [];

  /** Records that `method` is served at `url` (a Fastify route URL). */
  add(method: string, url: string): void {
    const statics = url
      .split("/")
      .filter((s) => s !== "" && s !== "*" && !s.startsWith(":")).length;
    this.#routes.push({ method: method.toUpperCase(), pattern: routePattern(url), statics });
  }

  /**
   * The methods served at `path` (a request path, no query), sorted; empty for
   * an unknown path. As in OpenAPI (and the router), a path matches its most
   * specific routes: `/v1/reputation/epochs` is the epochs path (POST), not
   * `/v1/reputation/{agent}` (GET).
   */
  allowed(path: string): string[] {
    const matching = this.#routes.filter((r) => r.pattern.test(path));
    const best = Math.max(0, ...matching.map((r) => r.statics));
    return [...new Set(matching.filter((r) => r.statics === best).map((r) => r.method))].sort();
  }
}
