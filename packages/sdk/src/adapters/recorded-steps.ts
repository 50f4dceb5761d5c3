/** The action types and payloads every framework adapter records (re-exported by each entry point). */
export {
  MODEL_ACTION_TYPES,
  type ModelActionType,
  type ModelCallPayload,
  type ModelRecorderOptions,
  type ModelResultPayload,
  type TokenUsage,
} from "./model-calls.js";
export {
  TOOL_ACTION_TYPES,
  type ToolActionType,
  type ToolPayload,
  type ToolRecorderOptions,
} from "./tool-calls.js";
