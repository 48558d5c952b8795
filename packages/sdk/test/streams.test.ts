/** select + addStream: typed values per type, old/new values, late topics, unselect, schemas. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { InputValueOf, Session, ValueType } from "../src/index.js";
import { type SdkFixture, recorder, startSdkServer, waitFor } from "./helpers.js";

let f: SdkFixture;
let session: Session;
beforeEach(async () => {
  f = await startSdkServer();
  session = await f.connect();
});
afterEach(() => f.close());

const cases: { [T in ValueType]: [T, InputValueOf[T], InputValueOf[T]] }[ValueType][] = [
  ["json", { a: [1, "x"], b: null }, { a: [], b: true }],
  ["string", "héllo", "wörld"],
  ["int64", 9007199254740993n, -(2n ** 63n)],
  ["double", 1.25, -0.5],
  ["binary", Uint8Array.of(0, 1, 255), Uint8Array.of(42)],
];

describe("value streams", () => {
  it.each(cases)(
    "%s: delivers the current value, then new values with the old one",
    async (type, first, second) => {
      const path = `typed/${type}`;
      await session.topics.addAndSet(path, { type }, first as never);
      await session.select(`>${path}`);
      const stream = recorder<unknown>();
      session.addStream(">typed//", type, stream);
      await waitFor(() => stream.events.length === 1, "subscription");
      await session.set(path, type, second as never);
      await waitFor(() => stream.events.length === 2, "value");
      expect(stream.events).toEqual([
        { kind: "subscribe", path, type, value: first },
        { kind: "value", path, value: second, old: first },
      ]);
      if (type === "int64") expect(typeof (stream.events[1] as { value: unknown }).value).toBe("bigint");
      if (type === "binary")
        expect((stream.events[1] as { value: unknown }).value).toBeInstanceOf(Uint8Array);
    },
  );

  it("gives a stream only topics of its type, and only those its selector matches", async () => {
    await session.topics.addAndSet("mix/s", { type: "string" }, "s");
    await session.topics.addAndSet("mix/n", { type: "int64" }, 1n);
    await session.topics.addAndSet("other/s", { type: "string" }, "o");
    await session.select("#>mix//////>other//");
    const strings = recorder<string>();
    session.addStream(">mix//", "string", strings);
    await waitFor(() => strings.events.length >= 1, "subscription");
    await session.ping(); // any other topic would have been sent before the ping's answer
    expect(strings.events).toEqual([{ kind: "subscribe", path: "mix/s", type: "string", value: "s" }]);
  });

  it("receives only selected topics: a stream alone selects nothing", async () => {
    await session.topics.addAndSet("unsel/a", { type: "string" }, "a");
    const stream = recorder<string>();
    session.addStream(">unsel//", "string", stream);
    await session.ping(); // a subscription would have been sent before the ping's answer
    expect(stream.events).toEqual([]);
    await session.select(">unsel//");
    await waitFor(() => stream.events.length === 1, "subscription after select");
  });

  it("delivers a topic added later that matches a selection, and its values", async () => {
    await session.select(">late//");
    const stream = recorder<number>();
    session.addStream(">late//", "double", stream);
    const other = await f.connect();
    await other.topics.add("late/x", { type: "double" });
    await waitFor(() => stream.events.length === 1, "late subscription");
    await other.set("late/x", "double", 3.5);
    await waitFor(() => stream.events.length === 2, "late value");
    expect(stream.events).toEqual([
      { kind: "subscribe", path: "late/x", type: "double", value: undefined },
      { kind: "value", path: "late/x", value: 3.5, old: undefined },
    ]);
  });

  it("tells streams 'unselected' when the session unselects", async () => {
    await session.topics.addAndSet("uns/a", { type: "string" }, "a");
    await session.select(">uns//");
    const stream = recorder<string>();
    session.addStream(">uns//", "string", stream);
    await waitFor(() => stream.events.length === 1, "subscription");
    await session.unselect(">uns//");
    await waitFor(() => stream.events.length === 2, "unsubscription");
    expect(stream.events[1]).toEqual({ kind: "unsubscribe", path: "uns/a", reason: "unselected" });
  });

  it("a stream added after the selection gets the topics already selected; close() stops it", async () => {
    await session.topics.addAndSet("cl/a", { type: "string" }, "a");
    await session.select(">cl/a");
    await session.ping(); // the topic frame has arrived
    const stream = recorder<string>();
    let closed = 0;
    const handle = session.addStream(">cl/a", "string", { ...stream, onClose: () => closed++ });
    expect(stream.events).toEqual([{ kind: "subscribe", path: "cl/a", type: "string", value: "a" }]);
    handle.close();
    expect(closed).toBe(1);
    await session.set("cl/a", "string", "b");
    await session.ping();
    expect(stream.events).toHaveLength(1);
  });

  it("checks json values against a zod schema: a failing value is not delivered but reported", async () => {
    const Reading = z.object({ celsius: z.number() });
    await session.topics.addAndSet("schema/r", { type: "json" }, { celsius: 20 });
    await session.select(">schema/r");
    const stream = recorder<z.infer<typeof Reading>>();
    session.addStream(">schema/r", "json", stream, { schema: Reading });
    await waitFor(() => stream.events.length === 1, "subscription");
    await session.set("schema/r", "json", { celsius: "warm" });
    await session.set("schema/r", "json", { celsius: 22 });
    await waitFor(() => stream.events.length === 3, "error and value");
    expect(stream.events).toEqual([
      { kind: "subscribe", path: "schema/r", type: "json", value: { celsius: 20 } },
      { kind: "error", path: "schema/r", code: "PAYLOAD_INVALID" },
      { kind: "value", path: "schema/r", value: { celsius: 22 }, old: { celsius: 20 } },
    ]);
  });
});
