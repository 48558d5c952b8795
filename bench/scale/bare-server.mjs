// @ts-check
// The barest MQTT server in Node, for the floor of memory per idle connection (bench/scale/floor.mjs):
// a `net.Server` whose sockets have one shared `data` listener that answers CONNECT with a CONNACK,
// SUBSCRIBE with a SUBACK granting QoS 0 and PINGREQ with a PINGRESP, from the bytes of the read alone
// (no state per connection but the socket; a packet split over two reads is not handled, which the
// bench's clients, one write of CONNECT + SUBSCRIBE each, never do on loopback).
// Usage: node bench/scale/bare-server.mjs <port> [--nodelay] [--pause]
//   --nodelay  TCP_NODELAY on each socket (as Skein)
//   --pause    stop reading (socket.pause()) once the SUBACK is written: what an idle socket costs
//              with no read armed
import net from "node:net";

const port = Number(process.argv[2]);
const nodelay = process.argv.includes("--nodelay");
const pause = process.argv.includes("--pause");

/** @this {net.Socket} @param {Buffer} buf */
function onData(buf) {
  let i = 0;
  while (i + 2 <= buf.length) {
    const type = buf[i] >> 4;
    let len = 0;
    let mul = 1;
    let h = 1;
    let b;
    do {
      b = buf[i + h++];
      len += (b & 127) * mul;
      mul *= 128;
    } while (b > 127 && h < 5);
    const body = i + h;
    if (type === 1) {
      // CONNECT: the protocol level follows the 6-byte protocol name
      this.write(buf[body + 6] === 5 ? Buffer.from([0x20, 3, 0, 0, 0]) : Buffer.from([0x20, 2, 0, 0]));
      /** @type {any} */ (this).v5 = buf[body + 6] === 5;
    } else if (type === 8) {
      const v5 = /** @type {any} */ (this).v5 === true;
      this.write(
        Buffer.from(v5 ? [0x90, 4, buf[body], buf[body + 1], 0, 0] : [0x90, 3, buf[body], buf[body + 1], 0]),
      );
      if (pause) this.pause();
    } else if (type === 12) {
      this.write(Buffer.from([0xd0, 0]));
    }
    i = body + len;
  }
}

function onError() {}

net
  .createServer({ noDelay: nodelay }, (socket) => {
    socket.on("data", onData);
    socket.on("error", onError);
  })
  .listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
