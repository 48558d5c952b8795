/**
 * `/healthz` and `/readyz` (issue 10): ready only when every configured listener is up and the store
 * accepts a real write; 503 with JSON reasons otherwise. `/health` stays as the old name of `/healthz`.
 * `/metrics` asks for a bearer token when `http.metricsToken` is set.
 */
import { describe, expect, it } from "vitest";
import type { TopicRecord } from "../../src/index.js";
import { ReadinessProbe } from "../../src/ops/readiness.js";
import { MemoryStorage } from "../../src/storage/memory-store.js";
import { FakeClock } from "../fake-clock.js";
import { startServer } from "../helpers.js";

/** A memory store whose writes fail while `failing` is set (a full or read-only disk). */
class FailingStorage extends MemoryStorage {
  failing = false;
  override putTopic(topic: TopicRecord): Promise<void> {
    if (this.failing) return Promise.reject(new Error("SQLITE_FULL: database or disk is full"));
    return super.putTopic(topic);
  }
}

async function get(port: number | undefined, path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.json() };
}

describe("/healthz and /readyz", () => {
  it("are 200 once started; /health answers as before", async () => {
    await using srv = await startServer();
    const port = srv.addresses.http;
    expect(await get(port, "/healthz")).toEqual({ status: 200, body: { status: "ok" } });
    expect(await get(port, "/health")).toEqual({ status: 200, body: { status: "ok" } });
    expect(await get(port, "/readyz")).toEqual({ status: 200, body: { status: "ready" } });
  });

  it("/readyz is 503 while a configured listener is down", async () => {
    await using srv = await startServer();
    const port = srv.addresses.http;
    await srv.server.stopListener("mqtt");
    const r = await get(port, "/readyz");
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ status: "not ready", reasons: ["listener mqtt is not listening"] });
    // The other listeners go on: the MQTT door over WebSocket still serves.
    expect((await get(port, "/healthz")).status).toBe(200);
  });

  it("/readyz is 503 while the store cannot write, and 200 again once it can", async () => {
    const clock = new FakeClock();
    const store = new FailingStorage();
    await using srv = await startServer({}, { clock, store });
    const port = srv.addresses.http;
    expect((await get(port, "/readyz")).status).toBe(200);
    store.failing = true;
    // The probe's result is reused for a second (on the server's clock): still the cached answer.
    expect((await get(port, "/readyz")).status).toBe(200);
    clock.advance(1000);
    const r = await get(port, "/readyz");
    expect(r.status).toBe(503);
    expect(r.body).toEqual({
      status: "not ready",
      reasons: ["store cannot write: SQLITE_FULL: database or disk is full"],
    });
    store.failing = false;
    clock.advance(1000);
    expect((await get(port, "/readyz")).status).toBe(200);
    // The probe left nothing behind in the store.
    expect(srv.server.getTopic("$skein/readyz")).toBeUndefined();
  });

  it("is not ready while starting or shutting down", async () => {
    let phase: "starting" | "running" | "stopping" = "starting";
    const probe = new ReadinessProbe({
      phase: () => phase,
      listenersDown: () => [],
      store: () => undefined,
      clock: new FakeClock(),
    });
    expect(await probe.check()).toEqual({ ready: false, reasons: ["starting"] });
    phase = "running";
    expect(await probe.check()).toEqual({ ready: true, reasons: [] });
    phase = "stopping";
    expect(await probe.check()).toEqual({ ready: false, reasons: ["shutting down"] });
  });

  it("SkeinServer.readiness() gives the same answer", async () => {
    await using srv = await startServer();
    expect(await srv.server.readiness()).toEqual({ ready: true, reasons: [] });
    await srv.server.stopListener("http");
    expect(await srv.server.readiness()).toEqual({
      ready: false,
      reasons: ["listener http is not listening"],
    });
  });
});

describe("/metrics bearer token", () => {
  it("answers 401 without the configured token and 200 with it", async () => {
    await using srv = await startServer({ http: { metricsToken: "scrape-me" } });
    const url = `http://127.0.0.1:${srv.addresses.http}/metrics`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: "Bearer wrong-one" } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: "Bearer scrape-me" } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await ok.text()).toMatch(/^# TYPE skein_topics gauge$/m);
  });
});

describe("/metrics process collectors", () => {
  it("leave out the collectors that list every socket, and count open files", async () => {
    await using srv = await startServer({});
    const text = await (await fetch(`http://127.0.0.1:${srv.addresses.http}/metrics`)).text();
    // Each of these walked every handle of the process on the event loop at every scrape (issue 11).
    expect(text).not.toMatch(/^nodejs_active_handles/m);
    expect(text).not.toMatch(/^nodejs_active_resources/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds /m);
    if (process.platform === "linux") {
      const fds = /^process_open_fds (\d+)$/m.exec(text);
      expect(Number(fds?.[1])).toBeGreaterThan(2);
    }
  });
});
