import { describe, expect, it } from "vitest";
import { Emitter } from "./emitter.js";

describe("Emitter", () => {
  it("calls listeners in order; off and the returned function remove them; once runs once", () => {
    const errors: unknown[] = [];
    const emitter = new Emitter<{ tick: number }>((err) => errors.push(err));
    const got: string[] = [];
    const offA = emitter.on("tick", (n) => got.push(`a${n}`));
    const b = (n: number) => got.push(`b${n}`);
    emitter.on("tick", b);
    emitter.once("tick", (n) => got.push(`once${n}`));
    emitter.emit("tick", 1);
    offA();
    emitter.off("tick", b);
    emitter.emit("tick", 2);
    expect(got).toEqual(["a1", "b1", "once1"]);
    expect(errors).toEqual([]);
  });

  it("a throwing listener does not stop the others", () => {
    const errors: unknown[] = [];
    const emitter = new Emitter<{ e: void }>((err) => errors.push(err));
    let called = false;
    emitter.on("e", () => {
      throw new Error("boom");
    });
    emitter.on("e", () => (called = true));
    emitter.emit("e", undefined);
    expect(called).toBe(true);
    expect(errors).toHaveLength(1);
  });
});
