/**
 * Session ids come from a pool of CSPRNG bytes drawn 4 KiB at a time (issue 11: one draw per CONNECT
 * was a visible share of it): they stay 16 hex digits and distinct across many refills of the pool.
 */
import { describe, expect, it } from "vitest";
import { newSessionId } from "./sessions.js";

describe("newSessionId", () => {
  it("gives distinct 16-hex-digit ids across refills of its pool", () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = newSessionId();
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(5000);
  });
});
