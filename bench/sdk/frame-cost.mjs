#!/usr/bin/env node
// @ts-check
// Per-frame costs of the SDK wire protocol, single thread, bounded loops:
//  1. what the fan-out generator pays to count `v` frames: scanning the MessagePack structure
//     (frames.mjs scanFrames, what it does) against decoding with msgpackr's unpackMultiple, for
//     messages of 1, 4 and 16 `v` frames with 32-byte values;
//  2. what the server pays per client frame on the request-response path: MessagePack decode
//     (decodeMessage); validation by the hand-written check the server uses for these hot frames
//     (checkClientFrame) against the zod schema alone (what every frame cost before); and encoding a
//     `result` frame by the hand-written writer (encoder.encode) against msgpackr alone.
//   node bench/sdk/frame-cost.mjs
import { Packr } from "msgpackr";
import { MSGPACK_OPTIONS, checkClientFrame, clientFrameSchema, decodeMessage } from "@skein/protocol";
import { decodeFrames, encoder, scanFrames } from "./frames.mjs";

const ROUNDS = 200_000;

/** @param {() => unknown} fn */
function time(fn) {
  for (let i = 0; i < ROUNDS / 10; i++) fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) fn();
  return Number(process.hrtime.bigint() - t0) / ROUNDS;
}

export function countCost() {
  const one = Buffer.from(encoder.encode({ type: "v", t: 1, v: new Uint8Array(32).fill(120) }));
  const rows = [];
  for (const frames of [1, 4, 16]) {
    const buf = Buffer.concat(Array.from({ length: frames }, () => one));
    let check = 0;
    const scanNs = time(() => (check += scanFrames(buf, 0, buf.length, null, null)));
    const decodeNs = time(() => {
      for (const f of decodeFrames(buf, 0, buf.length)) if (f.type === "v") check++;
    });
    if (check === 0) throw new Error("counted nothing");
    rows.push({ frames, scanNsPerFrame: scanNs / frames, decodeNsPerFrame: decodeNs / frames });
  }
  return rows;
}

const CLIENT_FRAMES = {
  send_request: {
    type: "send_request",
    id: 12345,
    path: "bench/rr",
    requestType: "binary",
    responseType: "binary",
    value: new Uint8Array(64),
  },
  respond: { type: "respond", id: 12346, rid: 777, value: new Uint8Array(64) },
  set: { type: "set", id: 5, path: "bench/out", valueType: "binary", value: new Uint8Array(32) },
};

/** msgpackr alone, with the options of the protocol's encoder. */
const msgpackr = new Packr(MSGPACK_OPTIONS);

export function serverFrameCost() {
  const rows = [];
  for (const [name, frame] of Object.entries(CLIENT_FRAMES)) {
    const bytes = encoder.encode(frame);
    const decodeNs = time(() => decodeMessage(encoder, bytes));
    const value = decodeMessage(encoder, bytes)[0];
    const checkNs = time(() => {
      if (!checkClientFrame(value).ok) throw new Error(`${name} refused`);
    });
    const zodNs = time(() => {
      if (!clientFrameSchema.safeParse(value).success) throw new Error(`${name} refused by zod`);
    });
    let id = 0;
    const encodeNs = time(() => encoder.encode({ type: "result", id: id++, value: frame.value }));
    const msgpackrNs = time(() => msgpackr.pack({ type: "result", id: id++, value: frame.value }));
    rows.push({
      frame: name,
      decodeNs,
      checkNs,
      zodNs,
      encodeResultNs: encodeNs,
      msgpackrResultNs: msgpackrNs,
    });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log("Counting v frames (load generator), ns per frame:");
  console.log("  v frames/message  scan  unpackMultiple");
  for (const r of countCost()) {
    console.log(
      `  ${String(r.frames).padStart(16)}  ${r.scanNsPerFrame.toFixed(0).padStart(4)}  ${r.decodeNsPerFrame.toFixed(0).padStart(14)}`,
    );
  }
  console.log("Server, per client frame, ns (check and result writer: hand-written; zod, msgpackr: alone):");
  console.log("  frame         decode   check     zod  encode a result  msgpackr");
  /** @type {(x: number, w: number) => string} */
  const n = (x, w) => x.toFixed(0).padStart(w);
  for (const r of serverFrameCost()) {
    console.log(
      `  ${r.frame.padEnd(12)}  ${n(r.decodeNs, 6)}  ${n(r.checkNs, 6)}  ${n(r.zodNs, 6)}  ${n(r.encodeResultNs, 15)}  ${n(r.msgpackrResultNs, 8)}`,
    );
  }
}
