/** session.topics: add (created / existed / mismatch), remove, addAndSet; selector validation. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Session } from "../src/index.js";
import { type SdkFixture, codeOf, recorder, startSdkServer, waitFor } from "./helpers.js";

let f: SdkFixture;
let session: Session;
beforeEach(async () => {
  f = await startSdkServer();
  session = await f.connect();
});
afterEach(() => f.close());

describe("topics", () => {
  it("adds a topic; an equal spec again is not created; a different spec is refused", async () => {
    expect(await session.topics.add("t/a", { type: "string" })).toEqual({ created: true });
    expect(await session.topics.add("t/a", { type: "string" })).toEqual({ created: false });
    expect(await codeOf(session.topics.add("t/a", { type: "int64" }))).toBe("TOPIC_EXISTS_MISMATCH");
    expect(f.server.server.getTopic("t/a")?.spec.type).toBe("string");
  });

  it("refuses an invalid path and an invalid specification before sending", async () => {
    expect(await codeOf(session.topics.add("a/+/b", { type: "string" }))).toBe("INVALID_PATH");
    expect(await codeOf(session.topics.add("a", { type: "time-series" }))).toBe("INVALID_SPECIFICATION");
  });

  it("removes the topics a selector selects, tells how many, and streams hear 'removed'", async () => {
    for (const p of ["r/1", "r/2", "r/3", "keep"]) await session.topics.add(p, { type: "json" });
    await session.select(">r//");
    const stream = recorder<unknown>();
    session.addStream(">r//", "json", stream);
    await waitFor(() => stream.events.length === 3, "three subscriptions");
    expect(await session.topics.remove(">r//")).toBe(3);
    await waitFor(() => stream.events.length === 6, "three unsubscriptions");
    expect(stream.events.slice(3).map((e) => e.kind === "unsubscribe" && e.reason)).toEqual([
      "removed",
      "removed",
      "removed",
    ]);
    expect(f.server.server.getTopic("r/1")).toBeUndefined();
    expect(f.server.server.getTopic("keep")).toBeDefined();
    expect(await session.topics.remove(">nothing/here")).toBe(0);
  });

  it("refuses an invalid selector with INVALID_SELECTOR, client-side", async () => {
    for (const bad of ["", "no-prefix", "?a/(", "*[", ">a/+"]) {
      expect(await codeOf(session.topics.remove(bad))).toBe("INVALID_SELECTOR");
      expect(await codeOf(session.select(bad))).toBe("INVALID_SELECTOR");
      expect(await codeOf(session.fetch(bad))).toBe("INVALID_SELECTOR");
    }
    expect(() => session.addStream("?(", "json", {})).toThrow(
      expect.objectContaining({ code: "INVALID_SELECTOR" }),
    );
  });

  it("addAndSet creates the topic with its value, then just sets it", async () => {
    expect(await session.topics.addAndSet("as/n", { type: "int64" }, 5n)).toEqual({ created: true });
    expect(await session.topics.addAndSet("as/n", { type: "int64" }, 6n)).toEqual({ created: false });
    expect(new TextDecoder().decode(f.server.server.getTopic("as/n")?.value)).toBe("6");
    expect(await codeOf(session.topics.addAndSet("as/n", { type: "string" }, "x"))).toMatch(
      /TOPIC_EXISTS_MISMATCH|TOPIC_TYPE_MISMATCH/,
    );
  });
});
