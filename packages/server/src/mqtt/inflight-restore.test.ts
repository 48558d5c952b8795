/**
 * Putting deliveries back in flight after a restart (issue 9): {@link InflightWindow.restore} takes the
 * packet ids the store kept, whatever slots they fall in, keeps their send order and QoS 2 state, and
 * new ids never collide with them [MQTT-2.2.1-3]; {@link PacketIdSet.ids} lists what a set holds.
 */
import { describe, expect, it } from "vitest";
import { InflightWindow, PacketIdSet } from "./inflight.js";

describe("InflightWindow.restore", () => {
  it("takes kept ids that share a slot, in send order, released ones marked", () => {
    const window = new InflightWindow<string>(4);
    // 1, 5 and 9 share slot 1 of a 4-slot table: the table grows.
    window.restore(9, "first", false);
    window.restore(1, "second", true);
    window.restore(5, "third", false);
    expect(window.size).toBe(3);
    expect(window.idsInSendOrder()).toEqual([9, 1, 5]);
    expect([window.get(9), window.get(1), window.get(5)]).toEqual(["first", "second", "third"]);
    expect([window.released(9), window.released(1), window.released(5)]).toEqual([false, true, false]);
    // New ids avoid those in flight.
    const fresh = new Set<number>();
    for (let i = 0; i < 5; i++) fresh.add(window.add(`new ${i}`));
    for (const id of [1, 5, 9]) expect(fresh.has(id)).toBe(false);
    expect(fresh.size).toBe(5);
    expect(window.delete(1)).toBe(true);
    expect(window.get(9)).toBe("first");
  });

  it("refuses an id already in flight", () => {
    const window = new InflightWindow<string>(2);
    window.restore(3, "a", false);
    expect(() => window.restore(3, "b", false)).toThrow(/already in flight/);
  });
});

describe("PacketIdSet.ids", () => {
  it("lists the ids held, in the table and as a bitmap", () => {
    const small = new PacketIdSet(4);
    for (const id of [7, 65535, 1]) small.add(id);
    expect(small.ids().sort((a, b) => a - b)).toEqual([1, 7, 65535]);
    const large = new PacketIdSet(4);
    for (let id = 1; id <= 2000; id++) large.add(id);
    large.delete(1000);
    const ids = large.ids();
    expect(ids).toHaveLength(1999);
    expect(ids.includes(1000)).toBe(false);
  });
});
