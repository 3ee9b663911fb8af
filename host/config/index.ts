// The config: MOSN v2 JSON plus the `switchyard` extension, checked and normalized (docs/config.md).
export { parseConfig, type ParsedConfig, type ParseOptions } from "./parse.js";
export { loadConfigFile } from "./load.js";
export { ConfigError, CONFIG_ERROR_CODES } from "./errors.js";
export { findCluster, findRouterConfig } from "./lookup.js";
export { parseDurationMs } from "./duration.js";
export { CONFIG_SCHEMA } from "./schema.js";
export * from "./types.js";
