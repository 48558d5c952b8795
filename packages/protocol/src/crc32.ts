/**
 * CRC-32 (IEEE 802.3, the polynomial zlib, gzip and PNG use), table-driven and browser-safe. The SDK's
 * update streams send `delta` frames carrying the CRC-32 of the value the delta applies to; the server
 * checks it against its current value before applying the delta.
 *
 * @module
 */

const TABLE = buildTable();

function buildTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/**
 * The CRC-32 of `bytes`, as an unsigned 32-bit number (the same as `zlib.crc32` in Node).
 *
 * @example
 * ```ts
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 * ```
 * @param bytes - the data
 * @param previous - the CRC of the data before `bytes`, to compute a CRC incrementally
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  let c = ~previous >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
