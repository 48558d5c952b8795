/** session.set with constraints, type checks, locks, and delta update streams. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Session, type UpdateConstraint, constraints } from "../src/index.js";
import { type SdkFixture, codeOf, recorder, startSdkServer, waitFor } from "./helpers.js";

let f: SdkFixture;
let session: Session;
beforeEach(async () => {
  f = await startSdkServer();
  session = await f.connect();
});
afterEach(() => f.close());

const valueOf = (path: string): string | undefined => {
  const bytes = f.server.server.getTopic(path)?.value;
  return bytes && new TextDecoder().decode(bytes);
};

describe("set", () => {
  it("sets a value of the topic's type; another type is TOPIC_TYPE_MISMATCH; a missing topic TOPIC_NOT_FOUND", async () => {
    await session.topics.add("u/n", { type: "int64" });
    await session.set("u/n", "int64", 42n);
    expect(valueOf("u/n")).toBe("42");
    expect(await codeOf(session.set("u/n", "string", "42"))).toBe("TOPIC_TYPE_MISMATCH");
    expect(await codeOf(session.set("u/n", "double", 1.5))).toBe("TOPIC_TYPE_MISMATCH");
    expect(valueOf("u/n")).toBe("42");
    expect(await codeOf(session.set("u/missing", "int64", 1n))).toBe("TOPIC_NOT_FOUND");
  });

  it("refuses a JS value that is not of the named type before sending (INVALID_ARGUMENT)", async () => {
    await session.topics.add("u/n", { type: "int64" });
    expect(await codeOf(session.set("u/n", "int64", 42 as unknown as bigint))).toBe("INVALID_ARGUMENT");
  });

  describe("constraints", () => {
    beforeEach(async () => {
      await session.topics.addAndSet("c/doc", { type: "json" }, { v: 1, owner: "a" });
      await session.topics.add("c/empty", { type: "string" });
    });

    it.each<[string, string, () => UpdateConstraint, string | undefined]>([
      ["noValue holds for a topic without a value", "c/empty", () => constraints.noValue(), undefined],
      ["noValue fails for a topic with a value", "c/doc", () => constraints.noValue(), "CONSTRAINT_NO_VALUE"],
      ["noTopic fails for an existing topic", "c/doc", () => constraints.noTopic(), "CONSTRAINT_NO_TOPIC"],
      [
        "valueEquals holds for the value",
        "c/doc",
        () => constraints.valueEquals("json", { v: 1, owner: "a" }),
        undefined,
      ],
      [
        "valueEquals fails for another value",
        "c/doc",
        () => constraints.valueEquals("json", { v: 2 }),
        "CONSTRAINT_VALUE_MISMATCH",
      ],
      ["jsonPointer equals holds", "c/doc", () => constraints.jsonPointer("/v").equals(1), undefined],
      [
        "jsonPointer equals fails",
        "c/doc",
        () => constraints.jsonPointer("/v").equals(2),
        "CONSTRAINT_PARTIAL_JSON",
      ],
      ["jsonPointer absent holds", "c/doc", () => constraints.jsonPointer("/x").absent(), undefined],
      [
        "jsonPointer absent fails",
        "c/doc",
        () => constraints.jsonPointer("/owner").absent(),
        "CONSTRAINT_PARTIAL_JSON",
      ],
      ["locked fails without the lock", "c/doc", () => constraints.locked("L"), "CONSTRAINT_LOCKED"],
      [
        "a conjunction holds when all hold",
        "c/doc",
        () => constraints.jsonPointer("/v").equals(1).and(constraints.jsonPointer("/x").absent()),
        undefined,
      ],
      [
        "a conjunction fails with the failing member's code",
        "c/doc",
        () => constraints.jsonPointer("/v").equals(1).and(constraints.noValue()),
        "CONSTRAINT_NO_VALUE",
      ],
    ])("%s", async (_name, path, constraint, code) => {
      const type = path === "c/doc" ? "json" : "string";
      const update =
        type === "json"
          ? session.set(path, "json", { v: 9 }, { constraint: constraint() })
          : session.set(path, "string", "new", { constraint: constraint() });
      if (code === undefined) {
        await update;
        expect(valueOf(path)).toBe(type === "json" ? '{"v":9}' : "new");
      } else {
        expect(await codeOf(update)).toBe(code);
        expect(valueOf(path)).toBe(path === "c/doc" ? '{"v":1,"owner":"a"}' : undefined);
      }
    });

    it("noTopic with addAndSet: creates once, then fails", async () => {
      const c = { constraint: constraints.noTopic() };
      expect(await session.topics.addAndSet("c/new", { type: "string" }, "x", c)).toEqual({ created: true });
      expect(await codeOf(session.topics.addAndSet("c/new", { type: "string" }, "y", c))).toBe(
        "CONSTRAINT_NO_TOPIC",
      );
      expect(valueOf("c/new")).toBe("x");
    });

    it("jsonPointer on a non-json topic fails with CONSTRAINT_PARTIAL_JSON", async () => {
      await session.set("c/empty", "string", "s");
      const constraint = constraints.jsonPointer("/a").absent();
      expect(await codeOf(session.set("c/empty", "string", "t", { constraint }))).toBe(
        "CONSTRAINT_PARTIAL_JSON",
      );
    });
  });
});

describe("locks", () => {
  it("a held lock satisfies locked(); another session cannot take it until released or closed", async () => {
    await session.topics.addAndSet("l/doc", { type: "string" }, "0");
    const other = await f.connect();
    const lock = await session.acquireLock("doc-lock");
    expect(lock).toMatchObject({ name: "doc-lock", acquired: true });
    await session.set("l/doc", "string", "1", { constraint: constraints.locked(lock) });
    expect((await other.acquireLock("doc-lock")).acquired).toBe(false);
    expect(
      await codeOf(other.set("l/doc", "string", "x", { constraint: constraints.locked("doc-lock") })),
    ).toBe("CONSTRAINT_LOCKED");
    expect(await lock.release()).toBe(true);
    expect(await lock.release()).toBe(false);
    const theirs = await other.acquireLock("doc-lock");
    expect(theirs.acquired).toBe(true);
    await other.close(); // the server releases the locks of a closed session
    expect((await session.acquireLock("doc-lock")).acquired).toBe(true);
  });

  it("locked().and(valueEquals) for a compare-and-set under a lock", async () => {
    await session.topics.addAndSet("l/n", { type: "int64" }, 1n);
    const lock = await session.acquireLock("n");
    const constraint = constraints.locked(lock).and(constraints.valueEquals("int64", 1n));
    await session.set("l/n", "int64", 2n, { constraint });
    expect(await codeOf(session.set("l/n", "int64", 3n, { constraint }))).toBe("CONSTRAINT_VALUE_MISMATCH");
    expect(valueOf("l/n")).toBe("2");
  });
});

describe("update streams", () => {
  it("sends deltas for small changes of a large value, and subscribers see every value", async () => {
    const body = "x".repeat(2000);
    await session.topics.add("us/doc", { type: "json" });
    const watcher = await f.connect();
    await watcher.select(">us/doc");
    const seen = recorder<{ n: number; body: string }>();
    watcher.addStream(">us/doc", "json", seen as never);
    const stream = session.createUpdateStream("us/doc", "json");
    for (let n = 0; n < 10; n++) await stream.set({ n, body });
    expect(stream.stats).toEqual({ sets: 1, deltas: 9, fallbacks: 0 });
    expect(valueOf("us/doc")).toBe(JSON.stringify({ n: 9, body }));
    await waitFor(() => seen.events.length === 11, "every value");
    expect(seen.events.slice(1).map((e) => e.kind === "value" && e.value.n)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
  });

  it("falls back to a full set when someone else changed the value", async () => {
    const body = "y".repeat(1000);
    await session.topics.add("us/shared", { type: "string" });
    const stream = session.createUpdateStream("us/shared", "string");
    await stream.set(`1${body}`);
    await stream.set(`2${body}`);
    const other = await f.connect();
    await other.set("us/shared", "string", `other${body}`);
    await stream.set(`3${body}`);
    expect(valueOf("us/shared")).toBe(`3${body}`);
    expect(stream.stats).toEqual({ sets: 2, deltas: 2, fallbacks: 1 });
  });

  it("sends full values when a delta would not be smaller", async () => {
    await session.topics.add("us/n", { type: "int64" });
    const stream = session.createUpdateStream("us/n", "int64");
    for (let n = 0n; n < 5n; n++) await stream.set(n);
    expect(stream.stats).toEqual({ sets: 5, deltas: 0, fallbacks: 0 });
    expect(valueOf("us/n")).toBe("4");
  });
});
