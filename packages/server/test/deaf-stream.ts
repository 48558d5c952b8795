/**
 * A TCP connection for MQTT.js (`new MqttClient(() => deafenable(...))`) that can go deaf: while
 * `deaf()` is true, what the server sends is dropped (noted through `heard`) instead of reaching the
 * client, as if lost on the way. Tests use it to make a client miss an acknowledgement the server did
 * send, then reconnect and send its in-flight packets again.
 */
import { createConnection } from "node:net";
import { Duplex } from "node:stream";

export function deafenable(port: number, deaf: () => boolean, heard: () => void = () => {}): Duplex {
  const socket = createConnection({ host: "127.0.0.1", port });
  const stream: Duplex = new Duplex({
    write: (chunk: Buffer, _encoding, callback) => void socket.write(chunk, callback),
    final: (callback) => void socket.end(callback),
    read: () => void socket.resume(),
    destroy: (err, callback) => {
      socket.destroy();
      callback(err);
    },
  });
  socket.on("data", (data: Buffer) => {
    if (deaf()) heard();
    else if (!stream.push(data)) socket.pause();
  });
  socket.on("end", () => stream.push(null));
  socket.on("error", (err) => stream.destroy(err));
  socket.on("close", () => stream.destroy());
  return stream;
}
