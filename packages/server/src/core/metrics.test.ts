import { describe, expect, it } from "vitest";
import { Metrics } from "./metrics.js";

describe("Metrics", () => {
  it("counts connects and disconnects by door and outcome or reason, as series of their own", () => {
    const m = new Metrics();
    m.connected("mqtt", "accepted");
    m.connected("mqtt", "accepted");
    m.connected("mqtt", "not_authorized");
    m.connected("sdk", "accepted");
    m.disconnected("mqtt", "connection_lost");
    m.disconnected("mqtt", "client_disconnect");
    m.disconnected("mqtt", "connection_lost");
    expect(m.get("skein_connects_total", { door: "mqtt", outcome: "accepted" })).toBe(2);
    expect(m.get("skein_connects_total", { door: "mqtt", outcome: "not_authorized" })).toBe(1);
    expect(m.get("skein_connects_total", { door: "sdk", outcome: "accepted" })).toBe(1);
    expect(m.get("skein_disconnects_total", { door: "mqtt", reason: "connection_lost" })).toBe(2);
    expect(m.total("skein_disconnects_total")).toBe(3);
    expect(m.render()).toContain('skein_connects_total{door="mqtt",outcome="accepted"} 2');
  });
});
