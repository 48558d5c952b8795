import { parseSelector } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { TopicState } from "../topic-state.js";
import { StreamRegistry, type ValueStreamCallbacks } from "./streams.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function setup() {
  const state = new TopicState();
  const registry = new StreamRegistry(() => state.all());
  return { state, registry };
}

function record<T>(): ValueStreamCallbacks<T> & { log: unknown[][] } {
  const log: unknown[][] = [];
  return {
    log,
    onSubscribe: (path, _spec, value) => log.push(["sub", path, value]),
    onValue: (path, _spec, value, old) => log.push(["val", path, value, old]),
    onUnsubscribe: (path, reason) => log.push(["unsub", path, reason]),
    onError: (err, path) => log.push(["err", path, err.code]),
    onClose: () => log.push(["close"]),
  };
}

describe("StreamRegistry", () => {
  it("routes values to streams by type and selector, with the old value", () => {
    const { state, registry } = setup();
    const ints = record<bigint>();
    const strings = record<string>();
    registry.add(parseSelector(">a//"), "int64", ints);
    registry.add(parseSelector(">a//"), "string", strings);
    const n = state.add(1, "a/n", { type: "int64" }, text("1"));
    registry.topicAdded(n);
    const other = state.add(2, "b/n", { type: "int64" }, text("9"));
    registry.topicAdded(other);
    n.value = text("2");
    registry.valueChanged(n);
    registry.topicRemoved(n, "removed");
    expect(ints.log).toEqual([
      ["sub", "a/n", 1n],
      ["val", "a/n", 2n, 1n],
      ["unsub", "a/n", "removed"],
    ]);
    expect(strings.log).toEqual([]);
  });

  it("gives a new stream the topics already selected", () => {
    const { state, registry } = setup();
    registry.topicAdded(state.add(1, "x", { type: "string" }, text("hi")));
    const s = record<string>();
    registry.add(parseSelector(">x"), "string", s);
    expect(s.log).toEqual([["sub", "x", "hi"]]);
  });

  it("does not deliver values a schema refuses, and keeps the last delivered as old", () => {
    const { state, registry } = setup();
    const s = record<{ n: number }>();
    const schema = {
      safeParse: (v: unknown) =>
        typeof (v as { n?: unknown }).n === "number"
          ? { success: true as const, data: v as { n: number } }
          : { success: false as const, error: "not a number" },
    };
    registry.add(parseSelector(">j"), "json", s, { schema });
    const t = state.add(1, "j", { type: "json" }, text('{"n":1}'));
    registry.topicAdded(t);
    for (const v of ['{"n":"x"}', '{"n":2}']) {
      t.value = text(v);
      registry.valueChanged(t);
    }
    expect(s.log).toEqual([
      ["sub", "j", { n: 1 }],
      ["err", "j", "PAYLOAD_INVALID"],
      ["val", "j", { n: 2 }, { n: 1 }],
    ]);
  });

  it("close() stops a stream and tells it; closeAll closes every stream", () => {
    const { state, registry } = setup();
    const a = record<string>();
    const b = record<string>();
    const handle = registry.add(parseSelector(">s"), "string", a);
    registry.add(parseSelector(">s"), "string", b);
    const t = state.add(1, "s", { type: "string" }, undefined);
    registry.topicAdded(t);
    handle.close();
    t.value = text("v");
    registry.valueChanged(t);
    registry.closeAll();
    expect(a.log).toEqual([["sub", "s", undefined], ["close"]]);
    expect(b.log).toEqual([["sub", "s", undefined], ["val", "s", "v", undefined], ["close"]]);
  });
});
