/**
 * Survival (issue 14 §4): failed logins slow down per address and are counted. Over real sockets on a
 * FakeClock: the first wrong password is answered at once, the next waits `failedLoginDelayMs`, the one
 * after twice that; every failure counts in `skein_login_failures_total`. Sessions already open are
 * not slowed.
 */
import { expect, it } from "vitest";
import { FakeClock } from "../fake-clock.js";
import { waitFor } from "../helpers.js";
import { RawClient } from "../raw-client.js";
import { startSurvivalServer } from "./canaries.js";

it("wrong passwords from one address wait 0, 100, then 200 ms before their CONNACK 0x86", async () => {
  const clock = new FakeClock();
  const s = await startSurvivalServer(
    {
      security: {
        failedLoginDelayMs: 100,
        anonymous: { roles: ["anonymous"] },
        principals: [{ name: "alice", password: "right", roles: ["anonymous"] }],
      },
    },
    { clock },
  );
  try {
    const attempt = async (delayMs: number): Promise<void> => {
      const raw = await RawClient.open(s.srv.addresses.mqtt!, 5);
      raw.send({
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 5,
        clientId: `guess-${delayMs}`,
        clean: true,
        keepalive: 0,
        username: "alice",
        password: Buffer.from("wrong"),
      });
      if (delayMs > 0) {
        // The attempt waits on the clock: nothing is answered until it moves on.
        await waitFor(() => clock.armed(delayMs) === 1, `a ${delayMs} ms login delay`);
        expect(raw.packets).toEqual([]);
        clock.advance(delayMs);
      }
      expect(await raw.next()).toMatchObject({ cmd: "connack", reasonCode: 0x86 });
      raw.destroy();
    };
    await attempt(0);
    await attempt(100);
    await attempt(200);
    expect(s.counter("skein_login_failures_total", { transport: "mqtt", reason: "bad_credentials" })).toBe(3);
    await s.canariesAlive();
  } finally {
    await s.close();
  }
});
