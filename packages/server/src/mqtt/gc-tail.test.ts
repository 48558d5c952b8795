/**
 * Updates copied on the publish path keep one hidden class (issue 12 item 18, docs/performance.md "GC
 * and the QoS 1 latency tail"). In V8 (Node 20) an object made by spread gets a hidden class outside
 * the transition tree, and a property added to it later (the doors' `encodings` cache) makes a new
 * hidden class per object, allocated in old space: garbage that only a mark-compact frees. These
 * checks ask V8 itself (`%HaveSameMap`), so they do not depend on timing or on when the GC runs.
 */
import v8 from "node:v8";
import { describe, expect, it } from "vitest";
import { type Update, copyUpdate } from "../core/types.js";
import { encodePublish, ownPayload } from "./outbound.js";

v8.setFlagsFromString("--allow-natives-syntax");
// A V8 intrinsic can only be reached from code compiled after the flag is set.
const haveSameMap = new Function("a", "b", "return %HaveSameMap(a, b)") as (a: object, b: object) => boolean;

/** An update as the MQTT door makes one: its payload a view into a larger socket read chunk. */
function received(i: number): Update {
  const chunk = Buffer.alloc(256, i);
  return {
    topic: `gc/${i % 4}`,
    payload: chunk.subarray(10, 42),
    qos: 1,
    retain: true,
    properties: undefined,
    expiresAt: undefined,
    origin: "s1",
  };
}

/** Encodes `update` once for a 3.1.1 QoS 1 subscriber, as the door does: adds its `encodings`. */
function encoded(update: Update): Update {
  encodePublish({ update, qos: 1, retain: false, subscriptionIds: undefined, messageId: 0 }, 7, false, {
    protocolVersion: 4,
    now: 0,
  });
  expect(update.encodings?.size).toBe(1);
  return update;
}

/** How many hidden classes `count` objects made by `make` have (1 when they all share one). */
function distinctShapes(count: number, make: (i: number) => object): number {
  const objects = Array.from({ length: count }, (_, i) => make(i));
  const shapes: object[] = [];
  for (const o of objects) if (!shapes.some((s) => haveSameMap(s, o))) shapes.push(o);
  return shapes.length;
}

describe("updates on the publish path keep one hidden class", () => {
  it("retained updates (ownPayload) share one hidden class after they are encoded", () => {
    // Many, so that V8's inline caches settle as on a server's publish path (the first few copies
    // made by spread still share a class; the fresh class per object comes once the IC is warm).
    expect(distinctShapes(100, (i) => encoded(ownPayload(received(i))))).toBe(1);
  });

  it("a stored payload owns its bytes: neither the read chunk nor a slice of the Buffer pool", () => {
    const u = ownPayload(received(1));
    expect(u.payload.byteOffset).toBe(0);
    expect(u.payload.byteLength).toBe(u.payload.buffer.byteLength);
    expect(Buffer.from(u.payload).equals(Buffer.alloc(32, 1))).toBe(true);
  });

  it("copyUpdate replaces only the fields asked for and drops the original's encodings", () => {
    const original = encoded(received(1));
    const copy = copyUpdate(original, { properties: { contentType: "application/json" } });
    expect(copy).toMatchObject({ topic: "gc/1", qos: 1, retain: true, expiresAt: undefined, origin: "s1" });
    expect(copy.payload).toBe(original.payload);
    expect(copy.properties).toEqual({ contentType: "application/json" });
    expect(copy.encodings).toBeUndefined();
    expect(copyUpdate(original, { expiresAt: undefined, properties: undefined }).properties).toBeUndefined();
    expect(distinctShapes(100, (i) => encoded(copyUpdate(received(i), { expiresAt: i })))).toBe(1);
    expect(haveSameMap(encoded(copy), encoded(copyUpdate(received(2), { expiresAt: 5 })))).toBe(true);
  });
});
