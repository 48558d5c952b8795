/**
 * The metrics reference of docs/operations.md, generated from the registry `/metrics` renders (the
 * server's described families and prom-client's process collectors), so the document cannot drift:
 * `npm run docs:metrics` rewrites it, and a test fails when it is out of date.
 */
import { Metrics } from "../core/metrics.js";
import { METRIC_CATALOG } from "./metric-catalog.js";
import { PrometheusExporter } from "./prometheus.js";

/** Marks the start of the generated section in docs/operations.md. */
export const REFERENCE_BEGIN = "<!-- metrics-reference:begin (npm run docs:metrics) -->";
/** Marks its end. */
export const REFERENCE_END = "<!-- metrics-reference:end -->";

/** The Markdown tables of every registered metric family, server families first. */
export async function metricsReference(): Promise<string> {
  const families = await new PrometheusExporter(new Metrics()).registry().getMetricsAsJSON();
  const cell = (s: string): string => s.replace(/\|/g, "\\|");
  const server: string[] = [];
  const process: string[] = [];
  for (const f of [...families].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const described = METRIC_CATALOG[f.name];
    const labels = Object.entries(described?.labels ?? {})
      .map(([k, v]) => `\`${k}\`: ${v}`)
      .join("; ");
    const row = `| \`${f.name}\` | ${String(f.type)} | ${cell(labels)} | ${cell(f.help)} |`;
    (described ? server : process).push(row);
  }
  const head = "| Metric | Type | Labels | Meaning |\n| --- | --- | --- | --- |";
  return [
    "Skein's own families:",
    "",
    head,
    ...server,
    "",
    "The process, from prom-client's default collectors:",
    "",
    head,
    ...process,
  ].join("\n");
}
