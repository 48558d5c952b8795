import { describe, expect, it } from "vitest";
import { FakeClock } from "../../test/fake-clock.js";
import { applyAuthentication, armExpiry } from "./authenticated.js";

describe("armExpiry", () => {
  it("fires at the expiry, even beyond setTimeout's 24.8-day limit, in steps", () => {
    const clock = new FakeClock(0);
    const day = 86_400_000;
    let fired = 0;
    armExpiry(clock, 60 * day, () => fired++);
    expect(clock.armed(0x7fffffff)).toBe(1);
    clock.advance(60 * day - 1);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
    expect(clock.armed()).toBe(0);
  });

  it("fires at once when the expiry has already passed", () => {
    const clock = new FakeClock(5000);
    let fired = 0;
    armExpiry(clock, 5000, () => fired++);
    expect(fired).toBe(1);
    expect(clock.armed()).toBe(0);
  });

  it("is disarmed by the function it returns", () => {
    const clock = new FakeClock(0);
    let fired = 0;
    const disarm = armExpiry(clock, 1000, () => fired++);
    disarm();
    clock.advance(2000);
    expect(fired).toBe(0);
  });
});

describe("applyAuthentication", () => {
  it("sets $Principal and $Roles and user properties, never other $-names", () => {
    const props: Record<string, string> = { $Principal: "claimed", $Roles: "", $ClientId: "c", own: "1" };
    applyAuthentication(props, {
      principal: "alice",
      roles: ["r1", "r2"],
      properties: { team: "blue", $ClientId: "forged" },
    });
    expect(props).toEqual({ $Principal: "alice", $Roles: "r1,r2", $ClientId: "c", own: "1", team: "blue" });
  });

  it("an anonymous session has an empty $Principal", () => {
    const props: Record<string, string> = {};
    applyAuthentication(props, { principal: undefined, roles: ["anonymous"] });
    expect(props).toEqual({ $Principal: "", $Roles: "anonymous" });
  });
});
