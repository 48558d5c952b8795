/**
 * The operations endpoints on the HTTP(S) listeners: `/metrics` (Prometheus; a bearer token when
 * `http.metricsToken` is set), `/healthz` (alive: the event loop turns), `/readyz` (ready: see
 * readiness.ts) and `/health` (the older name of `/healthz`). The web console (`/console`) is served by admin/console.ts.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { PrometheusExporter } from "./prometheus.js";
import type { ReadinessProbe } from "./readiness.js";

/** The paths served here (the listeners answer 404 for any other plain HTTP request). */
export const OPS_PATHS = ["/metrics", "/healthz", "/readyz", "/health"] as const;

/** An HTTP request handler for the operations endpoints; false when the path is not one of them. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Makes the handler of the operations endpoints. */
export function opsEndpoints(
  exporter: PrometheusExporter,
  readiness: ReadinessProbe,
  metricsToken: string | undefined,
): HttpHandler {
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    res.end(JSON.stringify(body) + "\n");
  };
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    switch (path) {
      case "/health":
      case "/healthz":
        // Answering proves the loop turns; setImmediate makes it a full turn after reading the request.
        setImmediate(() => json(res, 200, { status: "ok" }));
        return true;
      case "/readyz":
        readiness.check().then(
          (r) =>
            json(
              res,
              r.ready ? 200 : 503,
              r.ready ? { status: "ready" } : { status: "not ready", reasons: r.reasons },
            ),
          (err: unknown) => json(res, 503, { status: "not ready", reasons: [String(err)] }),
        );
        return true;
      case "/metrics":
        if (metricsToken !== undefined && !bearerMatches(req.headers.authorization, metricsToken)) {
          res.writeHead(401, { "content-type": "text/plain", "www-authenticate": 'Bearer realm="metrics"' });
          res.end("unauthorized\n");
          return true;
        }
        exporter.render().then(
          (text) => res.writeHead(200, { "content-type": exporter.contentType }).end(text),
          (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`${String(err)}\n`),
        );
        return true;
      default:
        return false;
    }
  };
}

/** Compares `Authorization: Bearer <token>` with the expected token in constant time. */
function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith("Bearer ")) return false;
  const given = Buffer.from(header.slice(7).trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
