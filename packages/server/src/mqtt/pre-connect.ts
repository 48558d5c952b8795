/**
 * The bound on what sockets that have not completed CONNECT may make the server hold (issue 12, item
 * 9). Such a socket is anyone's: before CONNECT it has given no name and no credentials. Each one may
 * buffer at most one CONNECT of `mqtt.maxConnectPacketSize` (the framer refuses a larger one from its
 * header), and all of them together at most `mqtt.maxPendingConnectBytes`; a socket whose bytes would
 * take the total past that is closed, counted and logged. A CONNECT that arrives whole in one read is
 * never buffered, so the bound only ever concerns CONNECTs that trickle in.
 */
import type { Metrics } from "../core/metrics.js";

/** Total bytes buffered by connections still awaiting their CONNECT, against a bound. */
export class PendingConnectBytes {
  private total = 0;

  constructor(
    /** The bound (bytes). */
    readonly max: number,
    private readonly metrics: Metrics,
  ) {}

  /** Bytes buffered now by connections awaiting CONNECT. */
  get bytes(): number {
    return this.total;
  }

  /**
   * Moves a connection's share from `before` to `after` bytes. Returns false, changing nothing, when
   * it grows and the total would pass the bound.
   */
  resize(before: number, after: number): boolean {
    const next = this.total - before + after;
    if (after > before && next > this.max) return false;
    this.total = next;
    this.metrics.set("mqtt_pending_connect_bytes", next);
    return true;
  }
}
