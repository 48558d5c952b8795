// @ts-check
// Fetch and selection latency against topics, memory per topic and topic creation with SDK sessions
// (issue 11): runs bench/scale-topics.mjs (in-process, no sockets; see its header) in a child process
// with --expose-gc, its output shown as it comes, and reads its figures back as JSON.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * @typedef {object} TopicsRow
 * @property {number} n topics
 * @property {number} fetchMiddle fetch of 100 `*.*` after the middle (median ms)
 * @property {number} fetchEnd fetch of the last 100 `*.*`
 * @property {number} fetchBranch fetch of 100 `>gK//` from its middle
 * @property {number} selectBranch selection of 1,000 `>gK//`
 * @property {number} selectRegex selection of 1,000 `*gK/d.*`
 * @property {number} fetchSelection fetch of 1,000 `>gK//`
 */

/**
 * @typedef {object} TopicsResult
 * @property {{ n: number, heap: number, rss: number } | undefined} memory
 * @property {TopicsRow[]} rows
 * @property {{ sessions: number, selections: number, none: number, apart: number, some: number }} creation
 */

/**
 * @param {{ sizes: number[], sessions: number, selections: number, seconds: number }} o
 * @returns {Promise<TopicsResult>}
 */
export async function runTopics(o) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "skein-bench-topics-"));
  const json = path.join(dir, "topics.json");
  try {
    const code = await new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          "--expose-gc",
          path.join(import.meta.dirname, "..", "scale-topics.mjs"),
          ...["--sizes", o.sizes.join(","), "--sessions", String(o.sessions)],
          ...["--selections", String(o.selections), "--seconds", String(o.seconds), "--json", json],
        ],
        { stdio: ["ignore", "inherit", "inherit"] },
      );
      child.on("error", reject);
      child.on("exit", resolve);
    });
    if (code !== 0) throw new Error(`bench/scale-topics.mjs exited with ${code}`);
    return JSON.parse(fs.readFileSync(json, "utf8"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
