export {
  assertMayRegister,
  type RegistrationPolicy,
  solveProofOfWork,
  WindowCounter,
} from "./admission.js";
export { buildGateway, type GatewayApp, type GatewayOptions } from "./app.js";
export {
  type Access,
  type ApiKeyInfo,
  ApiKeyStore,
  DEFAULT_ORIGIN,
  isScope,
  type Principal,
  type Scope,
} from "./auth.js";
export { GATEWAY_MIGRATIONS } from "./migrations.js";
export { isRetryable, type Problem, statusOf, toProblem } from "./problem.js";
export { parseTileIndex, TILE_WIDTH, tileIndexPath } from "./routes/tiles.js";
export { type GatewayServicesOptions, gatewayServices } from "./services.js";
