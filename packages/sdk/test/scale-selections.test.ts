/**
 * New and removed topics reach exactly the sessions whose selections cover them, now that the SDK door
 * asks the subscription index instead of testing every selection of every session (issue 11): path
 * selectors (the trie) and regex selectors (patterns kept by literal prefix) alike.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Session } from "../src/index.js";
import { type SdkFixture, recorder, startSdkServer, waitFor } from "./helpers.js";

let f: SdkFixture;
let a: Session;
let b: Session;
let writer: Session;
beforeEach(async () => {
  f = await startSdkServer();
  [a, b, writer] = await Promise.all([f.connect(), f.connect(), f.connect()]);
});
afterEach(() => f.close());

const paths = (events: { kind: string; path?: string }[], kind: string): string[] =>
  events.filter((e) => e.kind === kind).map((e) => e.path as string);

describe("topic events go to the sessions that select them", () => {
  it("tells a new topic to regex and branch selections that cover it, and to no other", async () => {
    const streamA = recorder<string>();
    const streamB = recorder<string>();
    a.addStream("#*sensors/room[0-9]+/temp////>marker//", "string", streamA);
    b.addStream("#>sensors//////?other/[^]*////>marker//", "string", streamB);
    await a.select("#*sensors/room[0-9]+/temp////>marker//");
    await b.select("#>sensors//////?other/[^]*////>marker//");
    for (const p of [
      "sensors/room1/temp",
      "sensors/roomX/temp",
      "sensors/room22/humidity",
      "other/x",
      "none/y",
    ]) {
      await writer.topics.addAndSet(p, { type: "string" }, "v");
    }
    // Frames to one session arrive in order: once the marker is there, everything before it is too.
    await writer.topics.addAndSet("marker", { type: "string" }, "m");
    await waitFor(() => paths(streamA.events, "subscribe").includes("marker"), "marker at A");
    await waitFor(() => paths(streamB.events, "subscribe").includes("marker"), "marker at B");
    expect(paths(streamA.events, "subscribe")).toEqual(["sensors/room1/temp", "marker"]);
    expect(paths(streamB.events, "subscribe")).toEqual([
      "sensors/room1/temp",
      "sensors/roomX/temp",
      "sensors/room22/humidity",
      "other/x",
      "marker",
    ]);

    // Removal is told the same way, only to the sessions that had the topic.
    expect(await writer.topics.remove(">sensors/room1/temp")).toBe(1);
    expect(await writer.topics.remove(">other/x")).toBe(1);
    expect(await writer.topics.remove(">marker")).toBe(1);
    await waitFor(() => paths(streamA.events, "unsubscribe").includes("marker"), "marker gone at A");
    await waitFor(() => paths(streamB.events, "unsubscribe").includes("marker"), "marker gone at B");
    expect(paths(streamA.events, "unsubscribe")).toEqual(["sensors/room1/temp", "marker"]);
    expect(paths(streamB.events, "unsubscribe")).toEqual(["sensors/room1/temp", "other/x", "marker"]);
  });

  it("stops telling a session of new topics once it has unselected", async () => {
    const stream = recorder<string>();
    a.addStream("*late/[a-z]+", "string", stream);
    a.addStream(">marker2", "string", stream);
    await a.select("*late/[a-z]+");
    await a.select(">marker2");
    await writer.topics.addAndSet("late/one", { type: "string" }, "1");
    await waitFor(() => paths(stream.events, "subscribe").includes("late/one"), "late/one");
    await a.unselect("*late/[a-z]+");
    await writer.topics.addAndSet("late/two", { type: "string" }, "2");
    await writer.topics.addAndSet("marker2", { type: "string" }, "m");
    await waitFor(() => paths(stream.events, "subscribe").includes("marker2"), "marker2");
    expect(paths(stream.events, "subscribe")).toEqual(["late/one", "marker2"]);
  });
});
