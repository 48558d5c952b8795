/**
 * `@skein/sdk`: the Skein SDK for Node and browsers. A skeleton until the SDK issue lands; it already
 * shares the error codes and topic definitions of `@skein/protocol`.
 *
 * @packageDocumentation
 */
export { SkeinError, ErrorCodes, type ErrorCode, type TopicType, type TopicSpecification } from "@skein/protocol";
