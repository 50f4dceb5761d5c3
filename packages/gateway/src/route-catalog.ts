/**
 * What the gateway learns of each route as it is registered: the route table
 * (405 answers), the contracts the OpenAPI document is completed from, the
 * list `app.chaoscoreRoutes` — and a default query schema that takes no
 * parameters (strict by default).
 * @module
 */
import { Type } from "@sinclair/typebox";
import type { GatewayApp } from "./gateway-options.js";
import type { RouteContract } from "./openapi-contract.js";
import { openApiPath, RouteTable } from "./route-table.js";

/** The catalog filled in as routes are registered. */
export type RouteCatalog = {
  /** Every path and its methods (CORS's catch-all excluded). */
  routeTable: RouteTable;
  /** The documented operations (docs UI and hidden routes excluded). */
  contracts: RouteContract[];
};

/**
 * Adds the `onRoute` hook that fills the catalog (call before any route is
 * registered) and decorates the app with `chaoscoreRoutes`.
 */
export function catalogRoutes(app: GatewayApp): RouteCatalog {
  const routes: { method: string; url: string }[] = [];
  app.decorate("chaoscoreRoutes", routes);
  const contracts: RouteContract[] = [];
  const routeTable = new RouteTable();
  app.addHook("onRoute", (route) => {
    const methods = [route.method].flat();
    // (CORS answers OPTIONS on every path: that makes no path known.)
    if (route.url !== "*" && route.url !== "/*")
      for (const m of methods) routeTable.add(m, route.url);
    if (route.url.startsWith("/docs")) return;
    const hidden = (route.schema as { hide?: boolean } | undefined)?.hide === true;
    if (!hidden)
      for (const m of methods)
        if (m !== "HEAD" && m !== "OPTIONS") {
          contracts.push({
            method: m,
            path: openApiPath(route.url),
            access: route.config?.access ?? "public",
            hasBody: route.schema?.body !== undefined,
            hasParams: /[:*]/.test(route.url),
          });
          routes.push({ method: m, url: route.url });
        }
    route.schema ??= {};
    route.schema.querystring ??= Type.Object({}, { additionalProperties: false });
  });
  return { routeTable, contracts };
}
