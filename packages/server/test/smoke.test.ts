import { afterEach, describe, expect, it } from "vitest";
import { collect, connectClient, startServer, waitFor, type TestServer } from "./helpers.js";

describe.each(["tcp", "ws"] as const)("smoke over %s", (transport) => {
  let srv: TestServer;
  afterEach(async () => srv?.close());

  it.each([4, 5] as const)("publishes and subscribes with protocol version %i", async (protocolVersion) => {
    srv = await startServer();
    const sub = await connectClient(srv.url(transport), { protocolVersion });
    const pub = await connectClient(srv.url(transport), { protocolVersion });
    const got = collect(sub);
    await sub.subscribeAsync("smoke/#", { qos: 1 });
    await pub.publishAsync("smoke/a", "hello", { qos: 1 });
    await waitFor(() => got.length === 1, "message");
    expect(got[0]!.topic).toBe("smoke/a");
    expect(got[0]!.payload.toString()).toBe("hello");
    expect(srv.server.getTopic("smoke/a")?.spec.type).toBe("binary");
    await Promise.all([sub.endAsync(), pub.endAsync()]);
  });
});
