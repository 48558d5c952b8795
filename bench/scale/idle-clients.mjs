// @ts-check
// A child process of bench/scale/connections.mjs (and delivery.mjs, lag.mjs): opens its share of idle
// MQTT connections (raw sockets, one CONNECT with keep alive 60 s and one SUBSCRIBE each, half 3.1.1 and
// half 5.0) from its own loopback source addresses, so that neither its open-files limit nor the
// ephemeral ports of one address run out, and keeps them open (a PINGREQ every half keep alive) until
// its parent says "close". An "open" message may name the filter every connection subscribes to
// (`topic`, default `scale/<id>/cmd`), the keep alive (`keepalive`, default 60 s) and one protocol
// version for all (`version`); "bytes" answers the bytes received after the SUBACKs (deliveries).
import net from "node:net";
import mqtt from "mqtt-packet";

/** @type {net.Socket[]} */
const sockets = [];
let closed = 0;
/** Bytes received on the connections after their SUBACK (PUBLISH packets, PINGRESPs). */
let received = 0;
/** @type {NodeJS.Timeout | undefined} */
let pinger;
const PINGREQ = Buffer.from([0xc0, 0x00]);

/**
 * Opens one connection and resolves once its SUBACK came (or rejects on an error or an early close).
 * @param {{ port: number, localAddress: string, id: string, version: 4 | 5, topic: string, keepalive: number }} c
 * @returns {Promise<void>}
 */
function open({ port, localAddress, id, version, topic, keepalive }) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", localAddress });
    const opts = { protocolVersion: version };
    socket.write(
      Buffer.concat([
        mqtt.generate(
          {
            cmd: "connect",
            protocolId: "MQTT",
            protocolVersion: version,
            clientId: id,
            clean: true,
            keepalive,
          },
          opts,
        ),
        mqtt.generate({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic, qos: 1 }] }, opts),
      ]),
    );
    let got = Buffer.alloc(0);
    let done = false;
    /** @param {Buffer} chunk */
    const onData = (chunk) => {
      got = Buffer.concat([got, chunk]);
      // CONNACK then SUBACK: the SUBACK's first byte is 0x90.
      if (!done && got.includes(0x90) && got[0] === 0x20) {
        done = true;
        socket.off("data", onData);
        socket.on("data", (/** @type {Buffer} */ d) => (received += d.length)); // deliveries, PINGRESPs
        sockets.push(socket);
        resolve();
      }
    };
    socket.on("data", onData);
    socket.on("error", (err) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
    socket.on("close", () => {
      if (!done) {
        done = true;
        reject(new Error("closed before SUBACK"));
      } else closed++;
    });
  });
}

process.on("message", async (/** @type {any} */ msg) => {
  if (msg.cmd === "open") {
    const { port, count, prefix, addresses, concurrency } = msg;
    const keepalive = msg.keepalive ?? 60;
    // A PINGREQ per connection every half keep alive, spread over that time (a slice every 100 ms), as
    // independent devices would send them, not all in one burst.
    let nextPing = 0;
    pinger ??= setInterval(() => {
      const slice = Math.ceil((sockets.length * 100) / ((keepalive * 1000) / 2));
      for (let k = 0; k < slice && sockets.length > 0; k++) {
        const s = sockets[nextPing++ % sockets.length];
        if (!s.destroyed) s.write(PINGREQ);
      }
    }, 100).unref();
    let next = 0;
    let failed = 0;
    /** @type {string | undefined} */
    let firstError;
    const t0 = Date.now();
    const perAddress = Math.ceil(count / addresses.length);
    const worker = async () => {
      while (next < count) {
        const i = next++;
        try {
          await open({
            port,
            localAddress: addresses[Math.floor(i / perAddress)],
            id: `${prefix}-${i}`,
            version: msg.version ?? (i % 2 === 0 ? 4 : 5),
            topic: msg.topic ?? `scale/${prefix}-${i}/cmd`,
            keepalive,
          });
        } catch (err) {
          failed++;
          firstError ??= /** @type {Error} */ (err).message;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    process.send?.({ connected: count - failed, failed, firstError, t0, t1: Date.now() });
  } else if (msg.cmd === "snap") {
    process.send?.({ open: sockets.length - closed, closed });
  } else if (msg.cmd === "bytes") {
    process.send?.({ received });
  } else if (msg.cmd === "close") {
    for (const s of sockets) s.destroy();
    process.exit(0);
  }
});

process.on("disconnect", () => process.exit(0));
