/**
 * The frames a session sent, numbered, kept (within bounds) so that a resumed connection gets every
 * frame it missed (DESIGN §6).
 */

/** A bounded, numbered log of sent frames. */
export class ReplayBuffer {
  private readonly frames: Uint8Array[] = [];
  private bytes = 0;
  /** Number of the last frame pushed (frames are numbered from 1). */
  last = 0;

  constructor(
    private readonly maxFrames: number,
    private readonly maxBytes: number,
  ) {}

  /** Number of the oldest frame still held (last + 1 when empty). */
  get oldest(): number {
    return this.last - this.frames.length + 1;
  }

  /** Records the next frame; returns its number. Drops the oldest frames beyond the bounds. */
  push(frame: Uint8Array): number {
    this.frames.push(frame);
    this.bytes += frame.length;
    this.last++;
    while (this.frames.length > this.maxFrames || (this.bytes > this.maxBytes && this.frames.length > 1)) {
      this.bytes -= (this.frames.shift() as Uint8Array).length;
    }
    return this.last;
  }

  /** True when every frame after `received` is still held. */
  covers(received: number): boolean {
    return received <= this.last && received + 1 >= this.oldest;
  }

  /** The frames numbered after `received`, oldest first (call `covers` first). */
  after(received: number): Uint8Array[] {
    return this.frames.slice(received + 1 - this.oldest);
  }
}
