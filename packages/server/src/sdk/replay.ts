/**
 * The frames a session sent, numbered, kept (within bounds) so that a resumed connection gets every
 * frame it missed (DESIGN §6). A ring: pushing past the bound overwrites the oldest frame in place.
 */

/** A bounded, numbered log of sent frames. */
export class ReplayBuffer {
  private readonly ring: (Uint8Array | undefined)[];
  /** Index in `ring` of the oldest frame held. */
  private head = 0;
  private count = 0;
  private bytes = 0;
  /** Number of the last frame pushed (frames are numbered from 1). */
  last = 0;

  constructor(
    private readonly maxFrames: number,
    private readonly maxBytes: number,
  ) {
    this.ring = new Array<Uint8Array | undefined>(Math.max(1, maxFrames));
  }

  /** Number of the oldest frame still held (last + 1 when empty). */
  get oldest(): number {
    return this.last - this.count + 1;
  }

  /** Records the next frame; returns its number. Drops the oldest frames beyond the bounds. */
  push(frame: Uint8Array): number {
    const size = this.ring.length;
    if (this.count === size) this.dropOldest();
    this.ring[(this.head + this.count) % size] = frame;
    this.count++;
    this.bytes += frame.length;
    this.last++;
    while (this.bytes > this.maxBytes && this.count > 1) this.dropOldest();
    return this.last;
  }

  /** True when every frame after `received` is still held. */
  covers(received: number): boolean {
    return received <= this.last && received + 1 >= this.oldest;
  }

  /** The frames numbered after `received`, oldest first (call `covers` first). */
  after(received: number): Uint8Array[] {
    const size = this.ring.length;
    const out: Uint8Array[] = [];
    for (let i = received + 1 - this.oldest; i < this.count; i++)
      out.push(this.ring[(this.head + i) % size] as Uint8Array);
    return out;
  }

  private dropOldest(): void {
    const frame = this.ring[this.head] as Uint8Array;
    this.ring[this.head] = undefined;
    this.bytes -= frame.length;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
  }
}
