/**
 * Seeded randomness for tests that pick random points (the crash tests): the seed is printed, and the
 * environment variable `SKEIN_TEST_SEED` sets it to repeat a run.
 */

/** A seeded generator of numbers in [0, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The seed of a test file: `SKEIN_TEST_SEED` when set (an integer), a random one otherwise; printed
 * with `what` so that a failing run can be repeated.
 */
export function testSeed(what: string): number {
  const given = process.env.SKEIN_TEST_SEED;
  let seed: number;
  if (given !== undefined && given !== "") {
    seed = Number(given);
    if (!Number.isSafeInteger(seed)) throw new Error(`SKEIN_TEST_SEED must be an integer, not ${given}`);
  } else seed = Math.floor(Math.random() * 2 ** 31);
  console.log(`${what}: seed ${seed} (repeat with SKEIN_TEST_SEED=${seed})`);
  return seed;
}
