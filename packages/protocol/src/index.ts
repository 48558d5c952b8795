/**
 * `@skein/protocol`: the definitions shared by the Skein server and SDK. Browser-safe: no Node built-ins.
 *
 * @packageDocumentation
 */
export * from "./errors.js";
export * from "./mqtt-reasons.js";
export * from "./topic-types.js";
export * from "./topic-path.js";
export * from "./values/index.js";
export * from "./permissions.js";
export * from "./security-admin.js";
export * from "./server-status.js";
export * from "./selector.js";
export * from "./session-filter.js";
export * from "./frames.js";
export * from "./codec.js";
export * from "./crc32.js";
export * from "./deadlines.js";
export * from "./range-query.js";
export * from "./timeseries.js";
