/** session.fetch: paging forward and backward, hasMore, types filter, typed values. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FetchedTypedTopic, Session } from "../src/index.js";
import { type SdkFixture, startSdkServer } from "./helpers.js";

let f: SdkFixture;
let session: Session;
beforeEach(async () => {
  f = await startSdkServer();
  session = await f.connect();
  for (let i = 0; i < 10; i++) await session.topics.addAndSet(`f/${i}`, { type: "int64" }, BigInt(i));
  await session.topics.addAndSet("f/s", { type: "string" }, "text");
  await session.topics.addAndSet("f/j", { type: "json" }, { a: 1 });
  await session.topics.add("f/empty", { type: "double" });
});
afterEach(() => f.close());

const paths = (topics: FetchedTypedTopic[]) => topics.map((t) => t.path);

describe("fetch", () => {
  it("fetches every selected topic in path order, without values by default", async () => {
    const result = await session.fetch(">f//");
    expect(result.hasMore).toBe(false);
    expect(paths(result.topics)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `f/${i}`),
      "f/empty",
      "f/j",
      "f/s",
    ]);
    expect(result.topics.every((t) => t.value === undefined)).toBe(true);
  });

  it("returns typed values with withValues", async () => {
    const result = await session.fetch("#>f/3////>f/s////>f/j////>f/empty", { withValues: true });
    const byPath = Object.fromEntries(result.topics.map((t) => [t.path, t]));
    expect(byPath["f/3"]).toMatchObject({ type: "int64", value: 3n });
    expect(byPath["f/s"]).toMatchObject({ type: "string", value: "text" });
    expect(byPath["f/j"]).toMatchObject({ type: "json", value: { a: 1 } });
    expect(byPath["f/empty"]?.value).toBeUndefined();
    const t = result.topics[0]!;
    if (t.type === "int64") expect(typeof t.value).toBe("bigint"); // narrowing on type types the value
  });

  it("pages forward with first/after until hasMore is false", async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await session.fetch(">f//", { first: 4, ...(after !== undefined && { after }) });
      seen.push(...paths(page.topics));
      if (!page.hasMore) break;
      expect(page.topics).toHaveLength(4);
      after = page.topics.at(-1)!.path;
    }
    expect(seen).toEqual(paths((await session.fetch(">f//")).topics));
  });

  it("pages backward with last/before", async () => {
    const page1 = await session.fetch(">f//", { last: 3 });
    expect(paths(page1.topics)).toEqual(["f/empty", "f/j", "f/s"]);
    expect(page1.hasMore).toBe(true);
    const page2 = await session.fetch(">f//", { last: 3, before: "f/empty" });
    expect(paths(page2.topics)).toEqual(["f/7", "f/8", "f/9"]);
    expect(page2.hasMore).toBe(true);
    const all = await session.fetch(">f//", { last: 100, before: "f/2" });
    expect(paths(all.topics)).toEqual(["f/0", "f/1"]);
    expect(all.hasMore).toBe(false);
  });

  it("filters by type", async () => {
    const result = await session.fetch(">f//", { types: ["string", "json"], withValues: true });
    expect(paths(result.topics)).toEqual(["f/j", "f/s"]);
  });
});
