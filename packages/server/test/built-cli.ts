/**
 * The `skein` command as users run it: the build output, built fresh by the tests that start it as a
 * child process.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root. */
export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
/** The built CLI (`skein`). */
export const CLI = join(ROOT, "packages/server/dist/cli.js");

/** Builds the packages (`tsc -b`), so that `dist/cli.js` is not stale; throws with the compiler's output. */
export function buildCli(): void {
  try {
    execFileSync("npx", ["tsc", "-b"], { cwd: ROOT, stdio: "pipe", encoding: "utf8" });
  } catch (err) {
    const output = (err as { stdout?: string }).stdout;
    throw new Error(`npx tsc -b failed, dist/cli.js would be stale:\n${output}`, { cause: err });
  }
}
