/** connect / close and the session's state events, over a real socket. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SessionEvents, connect } from "../src/index.js";
import { type SdkFixture, codeOf, startSdkServer, waitFor } from "./helpers.js";

let f: SdkFixture;
beforeEach(async () => {
  f = await startSdkServer();
});
afterEach(() => f.close());

describe("connect and close", () => {
  it("connects, gets a session id, answers a ping, and closes cleanly", async () => {
    const session = await f.connect();
    expect(session.state).toBe("connected");
    expect(session.sessionId).toMatch(/.+/);
    expect(await session.ping()).toBeGreaterThanOrEqual(0);
    const closed: SessionEvents["closed"][] = [];
    session.on("closed", (e) => closed.push(e));
    await session.close();
    expect(session.state).toBe("closed");
    expect(closed).toEqual([{ error: undefined }]);
    expect(await codeOf(session.ping())).toBe("SESSION_CLOSED");
    await session.close(); // idempotent
  });

  it("gives two sessions different ids", async () => {
    const [a, b] = await Promise.all([f.connect(), f.connect()]);
    expect(a.sessionId).not.toBe(b.sessionId);
  });

  it("fails to connect to a port where nothing listens", async () => {
    const url = f.url;
    await f.server.close();
    expect(await codeOf(connect(url, { connectTimeoutMs: 2000 }))).toBe("SESSION_CLOSED");
  });

  it("emits disconnected, reconnecting, reconnected and connected around a dropped connection", async () => {
    const session = await f.connect();
    const events: string[] = [];
    for (const name of ["disconnected", "reconnecting", "reconnected", "connected", "closed"] as const) {
      session.on(name, () => events.push(name));
    }
    const id = session.sessionId;
    session.simulateDrop();
    await waitFor(() => events.includes("connected"), "reconnection");
    expect(events).toEqual(["disconnected", "reconnecting", "reconnected", "connected"]);
    expect(session.sessionId).toBe(id);
    expect(session.state).toBe("connected");
    await session.ping();
  });

  it("closes for good when reconnection is off", async () => {
    const session = await f.connect({ reconnect: false });
    const closed = new Promise<SessionEvents["closed"]>((resolve) => session.once("closed", resolve));
    session.simulateDrop();
    expect((await closed).error?.code).toBeDefined();
    expect(session.state).toBe("closed");
  });

  it("reports the server shutting down", async () => {
    const session = await f.connect({ reconnect: false });
    const closed = new Promise<SessionEvents["closed"]>((resolve) => session.once("closed", resolve));
    await f.server.close();
    expect((await closed).error?.code).toBe("SERVER_SHUTTING_DOWN");
  });
});
