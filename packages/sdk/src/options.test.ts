import { describe, expect, it } from "vitest";
import { backoffDelay, resolveOptions } from "./options.js";

describe("options", () => {
  it("fills in defaults; reconnect: false disables reconnection", () => {
    expect(resolveOptions({}).reconnect).toEqual({
      enabled: true,
      initialDelayMs: 100,
      maxDelayMs: 5000,
      timeoutMs: 60_000,
    });
    expect(resolveOptions({}).requestTimeoutMs).toBe(30_000);
    expect(resolveOptions({}).heartbeatMs).toBe(30_000);
    expect(resolveOptions({ reconnect: false }).reconnect.enabled).toBe(false);
  });

  it("refuses negative numbers with INVALID_ARGUMENT", () => {
    expect(() => resolveOptions({ requestTimeoutMs: -1 })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
  });

  it("backs off exponentially up to maxDelayMs, with ±20% jitter", () => {
    const o = resolveOptions({ reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } }).reconnect;
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, o, () => 0.5))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(backoffDelay(1, o, () => 0)).toBe(80);
    expect(backoffDelay(1, o, () => 1)).toBe(120);
  });
});
