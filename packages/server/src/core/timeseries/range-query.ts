/**
 * The range query builder and its parameters live in `@skein/protocol` (`range-query.ts`), shared with
 * the SDK and the MQTT JSON query; re-exported here for the core's modules and tests.
 *
 * @module
 */
export {
  DEFAULT_RANGE_QUERY,
  ENTIRE_SERIES,
  type Range,
  type RangePoint,
  RangeQuery,
  type RangeQueryParameters,
  type RangeSpan,
  type RangeView,
  type StreamStructure,
  streamStructureOf,
} from "@skein/protocol";
