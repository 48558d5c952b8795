// @ts-check
// A bare WebSocket + MessagePack request-response relay in Node: the floor of this machine for a Node
// WebSocket server, for the `relay` kind of `node bench/run-sdk.mjs --scenarios rr`. It speaks just
// enough of the Skein SDK protocol for the raw roles of bench/sdk/worker.mjs (rr-raw-req, rr-raw-resp),
// with no validation, sessions, topics or limits:
//   hello -> welcome; add_handler -> the connection answers requests on that path;
//   send_request -> request {rid} to the responder; respond {rid} -> result to the requester (and
//   result true to the responder); any other frame with an id -> result.
// Outgoing frames are batched per connection per event-loop turn (setImmediate, one ws.send), as the
// Skein server does. Usage: node bench/sdk/relay-server.mjs <port>   (listens on 127.0.0.1, path /sdk)
import { randomBytes } from "node:crypto";
import http from "node:http";
import { Packr } from "msgpackr";
import { MSGPACK_OPTIONS } from "@skein/protocol";
import { WebSocketServer } from "ws";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node bench/sdk/relay-server.mjs <port>");
  process.exit(2);
}

const packr = new Packr(MSGPACK_OPTIONS);

/** One WebSocket connection: frames queued during a turn go out as one message. */
class Link {
  /** @param {import("ws").WebSocket} ws */
  constructor(ws) {
    this.ws = ws;
    /** @type {Buffer[]} */
    this.pending = [];
    this.scheduled = false;
    this.closed = false;
    this.flush = this.flush.bind(this);
  }

  /** @param {object} frame */
  send(frame) {
    if (this.closed) return;
    this.pending.push(packr.pack(frame));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  flush() {
    this.scheduled = false;
    if (this.closed || this.pending.length === 0) return;
    const frames = this.pending;
    this.pending = [];
    this.ws.send(frames.length === 1 ? frames[0] : Buffer.concat(frames));
  }
}

const responders = new Map(); // path -> Link
const requests = new Map(); // rid -> { link, id }
let nextRid = 1;

/**
 * @param {Link} link
 * @param {any} f a decoded client frame
 */
function onFrame(link, f) {
  switch (f?.type) {
    case "hello":
      return link.send({
        type: "welcome",
        version: 1,
        sessionId: randomBytes(8).toString("hex"),
        token: randomBytes(16).toString("hex"),
        reconnectTimeoutMs: 0,
        resumed: false,
        processed: 0,
      });
    case "add_handler":
      responders.set(f.path, link);
      return link.send({ type: "result", id: f.id });
    case "send_request": {
      const responder = responders.get(f.path);
      if (!responder) return link.send({ type: "error", id: f.id, code: 404, message: "no handler" });
      const rid = nextRid++;
      requests.set(rid, { link, id: f.id });
      return responder.send({
        type: "request",
        rid,
        path: f.path,
        requestType: f.requestType,
        responseType: f.responseType,
        value: f.value,
        properties: {},
        handler: { kind: "path", path: f.path },
      });
    }
    case "respond": {
      const r = requests.get(f.rid);
      if (r) {
        requests.delete(f.rid);
        r.link.send({ type: "result", id: r.id, value: f.value });
      }
      return link.send({ type: "result", id: f.id, value: true });
    }
    default:
      if (f?.id !== undefined) link.send({ type: "result", id: f.id });
  }
}

const server = http.createServer((req, res) => {
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, path: "/sdk", perMessageDeflate: false });
wss.on("connection", (ws) => {
  const link = new Link(ws);
  ws.on("message", (data) => {
    let frames;
    try {
      frames = packr.unpackMultiple(/** @type {Buffer} */ (data));
    } catch (err) {
      console.error(`relay: bad message: ${/** @type {Error} */ (err).message}`);
      return ws.terminate();
    }
    for (const f of frames) onFrame(link, f);
  });
  ws.on("error", (err) => console.error(`relay: websocket error: ${err.message}`));
  ws.on("close", () => {
    link.closed = true;
    for (const [path, l] of responders) if (l === link) responders.delete(path);
    for (const [rid, r] of requests) if (r.link === link) requests.delete(rid);
  });
});
server.on("error", (err) => {
  console.error(`relay: ${err.message}`);
  process.exit(1);
});
server.listen(port, "127.0.0.1");

function shutdown() {
  for (const ws of wss.clients) ws.terminate();
  wss.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, shutdown);
