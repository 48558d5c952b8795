import fc from "fast-check";
import { matchesMqttFilter } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { TopicTree } from "./topic-tree.js";
import type { Topic } from "./types.js";

let ids = 0;
function topic(path: string): Topic {
  return { id: ++ids, path, spec: { type: "binary" }, value: undefined, lastActivity: 0 };
}

describe("TopicTree", () => {
  it("adds, finds and removes topics, pruning empty branches", () => {
    const tree = new TopicTree();
    tree.add(topic("a/b/c"));
    tree.add(topic("a/b"));
    expect(tree.size).toBe(2);
    expect(tree.remove("a/b/c")?.path).toBe("a/b/c");
    expect([...tree.matchFilter("#")].map((t) => t.path)).toEqual(["a/b"]);
    expect(tree.remove("missing")).toBeUndefined();
  });

  it("finds the topics matching a filter as the MQTT matcher does (property)", () => {
    const level = fc.constantFrom("a", "b", "", "$s");
    const path = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join("/"));
    const filterLevel = fc.constantFrom("a", "b", "", "+", "$s");
    const filter = fc
      .tuple(fc.array(filterLevel, { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([l, hash]) => (hash ? [...l, "#"] : l).join("/"));
    fc.assert(
      fc.property(fc.uniqueArray(path, { maxLength: 12 }), filter, (paths, f) => {
        const tree = new TopicTree();
        for (const p of paths) tree.add(topic(p));
        const found = [...tree.matchFilter(f)].map((t) => t.path).sort();
        expect(found).toEqual(paths.filter((p) => matchesMqttFilter(f, p)).sort());
      }),
      { numRuns: 300 },
    );
  });
});
