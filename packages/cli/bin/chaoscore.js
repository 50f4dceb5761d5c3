#!/usr/bin/env node
// The `chaoscore` command. The packages ship TypeScript sources: tsx compiles
// them on the fly (and caches the result), so there is no build step.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
