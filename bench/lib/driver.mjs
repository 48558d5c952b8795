// @ts-check
// What both bench drivers (bench/run.mjs, bench/run-sdk.mjs) do around their scenarios: read the
// options, describe the run, check the machine is quiet, write the JSON results, and on a crash
// leave no child process behind.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./child.mjs";
import { backgroundLoad } from "./cpu.mjs";

/**
 * The options from readOptions(); a bad one is reported and the process exits with status 2.
 * @template T
 * @param {() => T} readOptions
 * @returns {T}
 */
export function optionsOrExit(readOptions) {
  try {
    return readOptions();
  } catch (err) {
    console.error(`bench: ${/** @type {Error} */ (err).message}`);
    process.exit(2);
  }
}

/**
 * The `meta` of the JSON results: when, where, which `versions` and which options.
 * @param {object} opts
 * @param {Record<string, string | null>} versions
 * @returns {import("./types.js").Figures}
 */
export function runMeta(opts, versions) {
  return {
    date: new Date().toISOString(),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    versions,
    options: opts,
  };
}

/**
 * Prints the header line, then measures the cores already busy (meta.backgroundCpu) and warns.
 * @param {string} title
 * @param {{ meta: import("./types.js").Figures }} results
 * @param {{ duration: number }} opts
 */
export async function printHeader(title, results, opts) {
  console.log(`${title}: node ${process.version}, ${results.meta.cpus} CPUs, ${opts.duration} s windows`);
  results.meta.backgroundCpu = await backgroundLoad();
  if (results.meta.backgroundCpu > 0.2) {
    const cores = results.meta.backgroundCpu.toFixed(2);
    console.log(`  WARNING: ${cores} cores were busy before the bench started; figures will be skewed`);
  }
}

/**
 * Writes `results` to `out` (relative to the repository root) and says where.
 * @param {object} results
 * @param {string} out
 */
export function writeResults(results, out) {
  const file = path.resolve(ROOT, out);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  console.log(`\nResults written to ${path.relative(process.cwd(), file) || file}`);
}

/**
 * Runs main(); an error is printed, the children are killed (`killAll`) and the exit status is 1.
 * @param {() => Promise<void>} main
 * @param {() => void} killAll
 */
export function runMain(main, killAll) {
  main().catch((/** @type {Error} */ err) => {
    console.error(err.stack ?? err);
    killAll();
    process.exit(1);
  });
}
