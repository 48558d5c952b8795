import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ACK_DELAY_MS, ACK_EVERY_FRAMES, Acknowledger } from "./acks.js";

describe("Acknowledger", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function setup() {
    const sent: number[] = [];
    const state = { received: 0, connected: true };
    const acks = new Acknowledger(
      () => state.received,
      (n) => state.connected && sent.push(n) > 0,
    );
    const frames = (n: number) => {
      for (let i = 0; i < n; i++) {
        state.received++;
        acks.frame();
      }
    };
    return { acks, sent, state, frames };
  }

  it("acknowledges at once every ACK_EVERY_FRAMES frames, and the rest after ACK_DELAY_MS", () => {
    const { sent, frames } = setup();
    frames(ACK_EVERY_FRAMES - 1);
    expect(sent).toEqual([]);
    frames(1);
    expect(sent).toEqual([ACK_EVERY_FRAMES]);
    frames(10);
    vi.advanceTimersByTime(ACK_DELAY_MS - 1);
    expect(sent).toEqual([ACK_EVERY_FRAMES]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([ACK_EVERY_FRAMES, ACK_EVERY_FRAMES + 10]);
    vi.advanceTimersByTime(10 * ACK_DELAY_MS);
    expect(sent).toHaveLength(2); // nothing new: no ack, no timer
  });

  it("sends nothing while disconnected and nothing the server already knows from a resuming hello", () => {
    const { acks, sent, state, frames } = setup();
    frames(5);
    state.connected = false;
    vi.advanceTimersByTime(ACK_DELAY_MS);
    expect(sent).toEqual([]);
    acks.stop();
    state.connected = true;
    acks.known(5); // the hello said received: 5
    vi.advanceTimersByTime(ACK_DELAY_MS);
    expect(sent).toEqual([]);
    frames(2);
    vi.advanceTimersByTime(ACK_DELAY_MS);
    expect(sent).toEqual([7]);
  });
});
