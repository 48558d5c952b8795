// @ts-check
// A child process of bench/scale/connections.mjs (--door sdk): opens its share of idle SDK sessions
// (the Skein SDK over WebSocket, one selection `>scale/<id>//` each) and keeps them until its parent
// says "close". Same messages as idle-clients.mjs.
import { connect } from "@skein/sdk";

/** @type {Awaited<ReturnType<typeof connect>>[]} */
const sessions = [];

process.on("message", async (/** @type {any} */ msg) => {
  if (msg.cmd === "open") {
    const { url, count, prefix, concurrency } = msg;
    let next = 0;
    let failed = 0;
    /** @type {string | undefined} */
    let firstError;
    const t0 = Date.now();
    const worker = async () => {
      while (next < count) {
        const i = next++;
        try {
          const session = await connect(url, { reconnect: false });
          await session.select(`>scale/${prefix}-${i}//`);
          sessions.push(session);
        } catch (err) {
          failed++;
          firstError ??= /** @type {Error} */ (err).message;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    process.send?.({ connected: count - failed, failed, firstError, t0, t1: Date.now() });
  } else if (msg.cmd === "snap") {
    process.send?.({ open: sessions.length, closed: 0 });
  } else if (msg.cmd === "close") {
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
