import type { GatewayApp, GatewayContext } from "../app.js";

/** The explorer's pages (filled in by explorer/). */
export function explorerRoutes(_app: GatewayApp, _ctx: GatewayContext): void {}
