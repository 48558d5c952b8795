// @ts-check
// Shared between the main thread and the workers.

// Int32Array slots of the SharedArrayBuffer that implements the delivery window: publishers add
// to SENT, subscribers add to RECV, and the main thread raises FORGIVEN when a broker dropped
// messages (so a drop cannot stall the publishers forever). See measure.mjs.
export const SENT = 0;
export const RECV = 1;
export const FORGIVEN = 2;
export const newShared = () => new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT);

// process.hrtime is CLOCK_MONOTONIC for the whole process: timestamps taken in one worker thread
// compare exactly with timestamps taken in another (unlike performance.now(), whose origin is
// per thread). Milliseconds as a double; rounding is below 10 ns.
export const hrMs = () => Number(process.hrtime.bigint()) / 1e6;
