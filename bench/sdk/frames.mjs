// @ts-check
// SDK wire frames for the load generator: encoding with the server's own MessagePack settings
// (createMsgpackEncoder of @skein/protocol), and a cheap scanner for received messages.
//
// A received WebSocket message holds one or more MessagePack frames back to back (protocol.md).
// The scanner walks them by MessagePack structure only: for a `v` frame it reports the topic id and
// where its value's bytes are, without allocating; any other frame is handed over as a byte range
// (rare: welcome, result, topic) for a full decode. `decodeFrames` is the plain alternative (msgpackr
// unpackMultiple); bench/sdk/frame-cost.mjs compares the two.
import { createMsgpackEncoder } from "@skein/protocol";
import { Unpackr } from "msgpackr";

export const encoder = createMsgpackEncoder();
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });

/**
 * Every frame of a message, decoded.
 * @param {Buffer} buf
 * @param {number} start
 * @param {number} end
 */
export const decodeFrames = (buf, start, end) => unpackr.unpackMultiple(buf.subarray(start, end));
/**
 * One frame at buf[start, end), decoded.
 * @param {Buffer} buf
 * @param {number} start
 * @param {number} end
 */
export const decodeFrame = (buf, start, end) => unpackr.unpack(buf.subarray(start, end));

/**
 * Position after the MessagePack value at buf[p].
 * @param {Buffer} buf
 * @param {number} p
 * @returns {number}
 */
export function skip(buf, p) {
  const b = buf[p];
  if (b <= 0x7f || b >= 0xe0) return p + 1; // fixint
  if (b <= 0x8f) return skipN(buf, p + 1, (b & 0x0f) * 2); // fixmap
  if (b <= 0x9f) return skipN(buf, p + 1, b & 0x0f); // fixarray
  if (b <= 0xbf) return p + 1 + (b & 0x1f); // fixstr
  switch (b) {
    case 0xc0: // nil
    case 0xc2: // false
    case 0xc3: // true
      return p + 1;
    case 0xc4: // bin 8
    case 0xd9: // str 8
      return p + 2 + buf[p + 1];
    case 0xc5: // bin 16
    case 0xda: // str 16
      return p + 3 + buf.readUInt16BE(p + 1);
    case 0xc6: // bin 32
    case 0xdb: // str 32
      return p + 5 + buf.readUInt32BE(p + 1);
    case 0xc7:
      return p + 3 + buf[p + 1]; // ext 8
    case 0xc8:
      return p + 4 + buf.readUInt16BE(p + 1); // ext 16
    case 0xc9:
      return p + 6 + buf.readUInt32BE(p + 1); // ext 32
    case 0xcc:
    case 0xd0:
      return p + 2;
    case 0xcd:
    case 0xd1:
      return p + 3;
    case 0xca:
    case 0xce:
    case 0xd2:
      return p + 5;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return p + 9;
    case 0xd4:
      return p + 3; // fixext 1
    case 0xd5:
      return p + 4;
    case 0xd6:
      return p + 6;
    case 0xd7:
      return p + 10;
    case 0xd8:
      return p + 18;
    case 0xdc:
      return skipN(buf, p + 3, buf.readUInt16BE(p + 1)); // array 16
    case 0xdd:
      return skipN(buf, p + 5, buf.readUInt32BE(p + 1)); // array 32
    case 0xde:
      return skipN(buf, p + 3, buf.readUInt16BE(p + 1) * 2); // map 16
    case 0xdf:
      return skipN(buf, p + 5, buf.readUInt32BE(p + 1) * 2); // map 32
    default:
      throw new Error(`not MessagePack: byte 0x${b.toString(16)} at ${p}`);
  }
}

/**
 * @param {Buffer} buf
 * @param {number} p
 * @param {number} n
 */
function skipN(buf, p, n) {
  for (let k = 0; k < n; k++) p = skip(buf, p);
  return p;
}

/** Unsigned integer at buf[p] (fixint, uint 8/16/32/64). */
/**
 * @param {Buffer} buf
 * @param {number} p
 */
export function readUint(buf, p) {
  const b = buf[p];
  if (b <= 0x7f) return b;
  if (b === 0xcc) return buf[p + 1];
  if (b === 0xcd) return buf.readUInt16BE(p + 1);
  if (b === 0xce) return buf.readUInt32BE(p + 1);
  if (b === 0xcf) return Number(buf.readBigUInt64BE(p + 1));
  return NaN;
}

/** Start of the bytes of the bin (or str) at buf[p]. */
/**
 * @param {Buffer} buf
 * @param {number} p
 */
function binStart(buf, p) {
  const b = buf[p];
  if (b === 0xc4 || b === 0xd9) return p + 2;
  if (b === 0xc5 || b === 0xda) return p + 3;
  if (b === 0xc6 || b === 0xdb) return p + 5;
  if (b >= 0xa0 && b <= 0xbf) return p + 1;
  return -1;
}

// Map keys as they appear on the wire: fixstr "type", "v", "t"; fixstr "v" as a value.
const K_TYPE = 0xa4;
const V_STR = 0xa1;
const CH_V = 0x76;
const CH_T = 0x74;

/**
 * Walks the frames of a message. For each `v` frame calls onV(topicId, buf, valueStart, valueEnd);
 * for any other frame calls onOther(buf, frameStart, frameEnd). Returns the number of `v` frames.
 * @param {Buffer} buf
 * @param {number} start
 * @param {number} end
 * @param {((topicId: number, buf: Buffer, valueStart: number, valueEnd: number) => void) | null} onV
 * @param {((buf: Buffer, frameStart: number, frameEnd: number) => void) | null} onOther
 */
export function scanFrames(buf, start, end, onV, onOther) {
  let p = start;
  let count = 0;
  while (p < end) {
    const frameStart = p;
    const b = buf[p];
    let n;
    if (b >= 0x80 && b <= 0x8f) {
      n = b & 0x0f;
      p++;
    } else if (b === 0xde) {
      n = buf.readUInt16BE(p + 1);
      p += 3;
    } else {
      p = skip(buf, p);
      onOther?.(buf, frameStart, p);
      continue;
    }
    let isV = false;
    let tid = -1;
    let vAt = -1;
    for (let k = 0; k < n; k++) {
      const key = p;
      p = skip(buf, p);
      if (buf[key] === K_TYPE && buf[key + 1] === CH_T && buf[key + 2] === 0x79) {
        // "type": is the value "v"?
        isV = buf[p] === V_STR && buf[p + 1] === CH_V;
      } else if (buf[key] === V_STR && buf[key + 1] === CH_T) tid = readUint(buf, p);
      else if (buf[key] === V_STR && buf[key + 1] === CH_V) vAt = p;
      p = skip(buf, p);
    }
    if (isV) {
      count++;
      if (onV) {
        const s = binStart(buf, vAt);
        onV(tid, buf, s, skip(buf, vAt));
      }
    } else onOther?.(buf, frameStart, p);
  }
  return count;
}

/**
 * A frame template whose request id is patched in place: the id is encoded as MessagePack uint 32
 * (ids >= 2^31 always are), found by its unique bytes, and rewritten for each use.
 */
/**
 * @param {object} frame
 * @returns {{ bytes: Buffer, idAt: number, valueAt?: number }}
 */
export function idTemplate(frame) {
  const marker = 0xfedcba98;
  const bytes = Buffer.from(encoder.encode({ ...frame, id: marker }));
  const needle = Buffer.from([0xce, 0xfe, 0xdc, 0xba, 0x98]);
  const at = bytes.indexOf(needle);
  if (at < 0 || bytes.indexOf(needle, at + 1) >= 0) throw new Error("cannot locate the id in the template");
  return { bytes, idAt: at + 1 };
}

/** First request id of a template (>= 2^31 so that it stays a uint 32 on the wire). */
export const TEMPLATE_ID_BASE = 0x80000000;
