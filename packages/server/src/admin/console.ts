/**
 * The web console's files (issue 10), served at `/console` by the HTTP listener: static files from the
 * package's `console/` folder (its sources, plus `console/vendor/` that `npm run build` fills with the
 * SDK's browser bundle, preact, htm and uPlot). Only files found in that folder at the first request
 * are served, so no request path can reach outside it. The console's data comes over the SDK door,
 * as the logged-in principal: the server enforces permissions there, not here.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the console is served. */
export const CONSOLE_PATH = "/console";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** The console folder: `packages/server/console/`, the same from `src/admin/` and `dist/admin/`. */
const DEFAULT_DIR = fileURLToPath(new URL("../../console/", import.meta.url));

interface ConsoleFile {
  type: string;
  body: Buffer;
}

/** Serves the console's files; `sdkPath` goes to the page in `config.json`. */
export class ConsoleFiles {
  private files: Map<string, ConsoleFile> | undefined;

  constructor(
    private readonly sdkPath: string,
    private readonly dir = DEFAULT_DIR,
  ) {}

  /** True when `path` is the console's; then the response has been written. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return true;
    }
    // The page loads its modules relative to /console/.
    if (path === CONSOLE_PATH) {
      res.writeHead(301, { location: `${CONSOLE_PATH}/` }).end();
      return true;
    }
    const name = path.slice(CONSOLE_PATH.length + 1) || "index.html";
    const file = name === "config.json" ? this.config() : this.load().get(name);
    if (!file) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return true;
    }
    res.writeHead(200, {
      "content-type": file.type,
      "content-length": file.body.length,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      "referrer-policy": "no-referrer",
    });
    res.end(req.method === "HEAD" ? undefined : file.body);
    return true;
  }

  private config(): ConsoleFile {
    return {
      type: CONTENT_TYPES[".json"] ?? "",
      body: Buffer.from(JSON.stringify({ sdkPath: this.sdkPath })),
    };
  }

  /** Reads the folder once (a few hundred kB): file name relative to it, with `/`, -> content. */
  private load(): Map<string, ConsoleFile> {
    if (this.files) return this.files;
    const files = new Map<string, ConsoleFile>();
    const walk = (dir: string): void => {
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        return; // no console folder (e.g. an embedder's trimmed install): every path is a 404
      }
      for (const entry of entries) {
        const full = join(dir, entry);
        if (statSync(full).isDirectory()) {
          walk(full);
          continue;
        }
        const type = CONTENT_TYPES[extname(entry)];
        if (type)
          files.set(relative(this.dir, full).split(sep).join("/"), { type, body: readFileSync(full) });
      }
    };
    walk(this.dir);
    this.files = files;
    return files;
  }
}
