/**
 * Acknowledgements of received server frames (`ack`), so the server can drop them from the session's
 * replay buffer (DESIGN §6): without them it keeps its last `sdk.replayBufferFrames` frames for every
 * session, and each of those frames lives long enough to burden the server's garbage collector.
 *
 * An ack goes out once {@link ACK_EVERY_FRAMES} frames arrived since the last one, or
 * {@link ACK_DELAY_MS} after the first unacknowledged frame, whichever comes first: a busy session
 * acknowledges a few times a second, an idle one not at all.
 *
 * @module
 */

/** Frames received since the last ack that make the next one go out at once. */
export const ACK_EVERY_FRAMES = 1024;
/** The longest a received frame waits to be acknowledged (ms). */
export const ACK_DELAY_MS = 250;

/** Decides when to acknowledge. */
export class Acknowledger {
  private acked = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param received - how many numbered server frames the session has received
   * @param send - sends `ack { received }`; false when there is no connection to send it on
   */
  constructor(
    private readonly received: () => number,
    private readonly send: (received: number) => boolean,
  ) {}

  /** A numbered frame arrived. */
  frame(): void {
    if (this.received() - this.acked >= ACK_EVERY_FRAMES) this.flush();
    else this.timer ??= setTimeout(this.onTimer, ACK_DELAY_MS);
  }

  /** The server already knows the client has `received` frames (a resuming hello said so, or 0). */
  known(received: number): void {
    this.acked = received;
  }

  /** No connection any more: nothing to acknowledge until the next `welcome`. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.flush();
  };

  private flush(): void {
    const received = this.received();
    if (received > this.acked && this.send(received)) this.acked = received;
  }
}
