// @ts-check
// Null sink: a trivial MQTT endpoint used to measure the load generator's own ceiling.
// It answers CONNECT, SUBSCRIBE, PINGREQ and QoS 1 PUBLISH (PUBACK), counts PUBLISH packets by
// fixed header, and streams pre-encoded QoS 0 PUBLISH batches to every subscriber as fast as
// TCP back-pressure allows once the parent sends "start". It routes nothing. The parent asks
// for the counters over IPC.
// Usage (forked by lib/brokers.mjs): node bench/null-broker.mjs <port> '{"payload":32}'
import net from "node:net";
import { Framer, publishPacket, publishPacketId, pubacks } from "./lib/mqtt.mjs";
import { hrMs } from "./lib/shared.mjs";

const port = Number(process.argv[2]);
const { payload = 32 } = JSON.parse(process.argv[3] ?? "{}");
const BATCH = 64;
const WRITES_PER_TURN = 16;
let received = 0;
let streamed = 0;
let streaming = false; // subscribers are held until the parent says "start"
/** @type {(() => void)[]} */
const waiting = [];

/**
 * @param {net.Socket} sock
 * @param {Buffer} batch
 */
function stream(sock, batch) {
  const pump = () => {
    for (let k = 0; k < WRITES_PER_TURN; k++) {
      if (sock.destroyed) return;
      streamed += BATCH;
      if (!sock.write(batch)) return void sock.once("drain", pump);
    }
    setImmediate(pump);
  };
  pump();
}

/** @param {net.Socket} sock */
function onConnection(sock) {
  let version = 4;
  /** @type {number[]} */
  const acks = [];
  const framer = new Framer((buf, s, h) => {
    switch (buf[s] >> 4) {
      case 3: // PUBLISH
        received++;
        if (buf[s] & 0x06) acks.push(publishPacketId(buf, s, h));
        break;
      case 1: // CONNECT: protocol level follows the 6-byte protocol name
        version = buf[s + h + 6];
        sock.write(Buffer.from(version === 5 ? [0x20, 3, 0, 0, 0] : [0x20, 2, 0, 0]));
        break;
      case 8: {
        // SUBSCRIBE: grant QoS 0 and start streaming to a concrete topic matching the filter
        const p = s + h + 2 + (version === 5 ? 1 + buf[s + h + 2] : 0);
        const filter = buf.toString("utf8", p + 2, p + 2 + buf.readUInt16BE(p));
        const id = [buf[s + h], buf[s + h + 1]];
        sock.write(Buffer.from(version === 5 ? [0x90, 4, ...id, 0, 0] : [0x90, 3, ...id, 0]));
        const topic = filter.replace(/[+#]/g, "x");
        const one = publishPacket(topic, Buffer.alloc(payload, "x"), 0, 0, version);
        const batch = Buffer.concat(Array(BATCH).fill(one));
        if (streaming) stream(sock, batch);
        else waiting.push(() => stream(sock, batch));
        break;
      }
      case 12: // PINGREQ
        sock.write(Buffer.from([0xd0, 0]));
        break;
      case 14: // DISCONNECT
        sock.end();
        break;
    }
  });
  sock.on("data", (/** @type {Buffer} */ chunk) => {
    framer.push(chunk);
    if (acks.length > 0) {
      sock.write(pubacks(acks, acks.length));
      acks.length = 0;
    }
  });
  sock.on("error", () => sock.destroy());
}

net.createServer({ noDelay: true }, onConnection).listen(port, "127.0.0.1");
process.on("message", (msg) => {
  if (msg === "start") {
    streaming = true;
    waiting.splice(0).forEach((go) => go());
  }
  process.send?.({ t: hrMs(), received, streamed });
});
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
