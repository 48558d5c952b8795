/**
 * What the crash tests of acknowledged writes share (issue 9 §3): the built `skein` CLI (sqlite, the
 * default engine) in a child process on one data directory, killed with SIGKILL at seeded random
 * points under load and started again on the same directory, several times over. Each writer keeps a
 * chain of rising numbers, one write awaited at a time, and notes the highest number it sent and the
 * highest one acknowledged; a test checks after each restart what its contract promises of them.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { connect, type Session } from "../../../sdk/src/index.js";
import { type RunningCli, buildCli, killClis, startCli } from "../built-cli.js";

/** One writer's chain of rising numbers (one topic or series). */
export interface Chain {
  /** Its index (0..). */
  readonly index: number;
  /** Highest number sent (-1: none). */
  sent: number;
  /** Highest number acknowledged (-1: none). */
  acked: number;
}

/** Chains 0..n-1, nothing sent. */
export function chains(n: number): Chain[] {
  return Array.from({ length: n }, (_, index) => ({ index, sent: -1, acked: -1 }));
}

/**
 * A temporary work directory for the test file, with a config whose long group commit
 * (`storage.maxBatchDelayMs: 20`) widens the window in which an acknowledgement sent before its commit
 * would be caught by the kill; children left running are killed after each test.
 */
export function crashWorkDir(prefix: string): {
  /** Starts the CLI on `dataDir` with that config. */
  start(dataDir: string): Promise<RunningCli>;
  /** A new data directory under the work directory (not created). */
  newDir(): string;
} {
  let workDir = "";
  let config = "";
  let dirs = 0;
  beforeAll(() => {
    buildCli();
    workDir = mkdtempSync(join(tmpdir(), prefix));
    config = join(workDir, "skein.json");
    writeFileSync(config, JSON.stringify({ storage: { maxBatchDelayMs: 20 } }));
  }, 120_000);
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));
  afterEach(killClis);
  return {
    start: (dataDir) => startCli(["--config", config, "--data-dir", dataDir], workDir),
    newDir: () => join(workDir, `data-${++dirs}`),
  };
}

/**
 * Runs every chain on, from the number after the last it sent, each awaiting `write(chain, n)` before
 * the next, and kills `skein` (SIGKILL) once `killAfter` writes were acknowledged in all (after
 * `beforeKill`, if given, during which no chain starts a write). Returns when it is gone and every
 * chain stopped (`drop` closes the clients, so that their pending writes fail).
 */
export async function loadUntilKilled(
  skein: RunningCli,
  all: readonly Chain[],
  killAfter: number,
  write: (chain: Chain, n: number) => Promise<unknown>,
  drop: () => void,
  beforeKill?: () => Promise<void>,
): Promise<void> {
  let acks = 0;
  let killed = false;
  const kill = (): void => void skein.child.kill("SIGKILL");
  const run = async (chain: Chain): Promise<void> => {
    // Bounded: the kill comes long before (killAfter is far below chains x 10,000).
    for (let k = 0; !killed && k < 10_000; k++) {
      const n = chain.sent + 1;
      chain.sent = n;
      await write(chain, n);
      chain.acked = n;
      if (++acks >= killAfter && !killed) {
        killed = true;
        if (beforeKill) void beforeKill().then(kill, kill);
        else kill();
      }
    }
  };
  const done = Promise.allSettled(all.map(run));
  await skein.exited;
  killed = true;
  drop();
  await done;
}

/**
 * Starts `skein` on its data directory `kills + 1` times: after each restart but the first,
 * `check(skein, round)`; then `load(skein, round)`, which ends with the server SIGKILLed
 * ({@link loadUntilKilled}); the last start is checked and stopped cleanly (SIGTERM, exit code 0).
 */
export async function killRounds(
  start: () => Promise<RunningCli>,
  kills: number,
  check: (skein: RunningCli, round: number) => Promise<void>,
  load: (skein: RunningCli, round: number) => Promise<void>,
): Promise<void> {
  for (let round = 0; ; round++) {
    const skein = await start();
    if (round > 0) await check(skein, round);
    if (round === kills) {
      skein.child.kill("SIGTERM");
      expect(await skein.exited).toBe(0);
      return;
    }
    await load(skein, round);
  }
}

/**
 * {@link killRounds} for tests that write and read through the SDK: `check` gets a reader session
 * (closed after it), `load` gets two writer sessions, which `dropWriters` lets go when the server is
 * killed.
 */
export async function sdkKillRounds(
  start: () => Promise<RunningCli>,
  kills: number,
  check: (reader: Session, round: number) => Promise<void>,
  load: (writers: readonly Session[], skein: RunningCli, round: number) => Promise<void>,
): Promise<void> {
  await killRounds(
    start,
    kills,
    async (skein, round) => {
      const reader = await connect(skein.sdkUrl, { reconnect: false });
      try {
        await check(reader, round);
      } finally {
        await reader.close();
      }
    },
    async (skein, round) => {
      const writers: Session[] = [];
      for (let i = 0; i < 2; i++) writers.push(await connect(skein.sdkUrl, { reconnect: false }));
      await load(writers, skein, round);
    },
  );
}

/** Lets the writer sessions of a killed server go (their pending calls fail; nothing waits). */
export function dropWriters(writers: readonly Session[]): void {
  for (const s of writers) void s.close().catch(() => undefined);
}

/** A time series event as the crash tests compare it (the same through the SDK and over MQTT). */
export interface SeenEvent {
  sequence: number;
  timestamp: number;
  value: string;
  isEdit: boolean;
  originalSequence: number;
}

/** `e` reduced to what the crash tests compare. */
export function seenEvent(e: SeenEvent): SeenEvent {
  const { sequence, timestamp, value, isEdit, originalSequence } = e;
  return { sequence, timestamp, value, isEdit, originalSequence };
}

/**
 * Checks a series read after a restart: sequences from 0, contiguous, none repeated; with `appendsOnly`,
 * no edit either (each event its own original).
 */
export function expectDense(
  events: readonly { sequence: number; isEdit: boolean; originalSequence: number }[],
  what: string,
  appendsOnly: boolean,
): void {
  expect(
    events.map((e) => e.sequence),
    what,
  ).toEqual(events.map((_, i) => i));
  if (appendsOnly)
    expect(
      events.every((e) => !e.isEdit && e.originalSequence === e.sequence),
      what,
    ).toBe(true);
}
