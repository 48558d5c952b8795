/**
 * Client-side liveness. The server pings at the WebSocket level, but a browser cannot see those, and a
 * connection can die without either side hearing a close (a half-open TCP connection). So the link
 * watches what it receives: after `intervalMs` of silence it sends a `ping` request; after twice that
 * it drops the connection, which starts reconnection with resumption.
 *
 * @module
 */

/** The watch over one connection. */
export class Heartbeat {
  private timer: ReturnType<typeof setInterval> | undefined;
  private last = 0;

  /**
   * @param intervalMs - silence before a ping (0: no heartbeat)
   * @param ping - sends a ping
   * @param dead - drops the connection
   * @param now - the clock
   */
  constructor(
    private readonly intervalMs: number,
    private readonly ping: () => void,
    private readonly dead: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts watching a new connection. */
  start(): void {
    this.stop();
    if (this.intervalMs <= 0) return;
    this.last = this.now();
    this.timer = setInterval(() => this.check(), Math.max(1, Math.floor(this.intervalMs / 2)));
  }

  /** Something arrived: the connection is alive. */
  received(): void {
    this.last = this.now();
  }

  /** Stops watching (the connection is gone). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const silence = this.now() - this.last;
    if (silence >= 2 * this.intervalMs) {
      this.stop();
      this.dead();
    } else if (silence >= this.intervalMs) {
      this.ping();
    }
  }
}
