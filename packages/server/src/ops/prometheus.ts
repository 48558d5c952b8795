/**
 * `/metrics` through prom-client. The server counts in plain fields (core/metrics.ts: a hot path bumps
 * `counter.value`, never a label lookup); at scrape time this module reads every series into
 * prom-client families and renders them with prom-client's registry, together with its default
 * collectors (event-loop lag, heap, RSS, CPU, GC), which are process-wide and so registered once.
 */
import { readdir } from "node:fs/promises";
import { performance, type EventLoopUtilization } from "node:perf_hooks";
import { Gauge, Registry, collectDefaultMetrics, type Metric } from "prom-client";
import type { Histogram, Labels, Metrics } from "../core/metrics.js";
import { METRIC_CATALOG, type MetricKind, exportedName } from "./metric-catalog.js";

/** prom-client's shape of one sample. */
interface Sample {
  value: number;
  labels: Record<string, string>;
  metricName?: string;
}

/**
 * One family read from the core's series. It implements what prom-client's registry calls on a
 * metric (`get`, `reset`), so prom-client renders and escapes it like its own.
 */
class CoreFamily {
  readonly aggregator = "sum";
  readonly samples: Sample[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricKind,
  ) {}

  /** prom-client: the samples of this family. */
  get(): Promise<{ name: string; help: string; type: MetricKind; aggregator: string; values: Sample[] }> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.samples,
    });
  }

  /** prom-client: no state to reset (the core's counters are the state). */
  reset(): void {}

  /** Adds a histogram's samples: cumulative buckets, `+Inf`, sum and count. */
  addHistogram(labels: Labels, h: Histogram): void {
    let cumulative = 0;
    for (let i = 0; i < h.buckets.length; i++) {
      cumulative += h.counts[i] as number;
      this.samples.push({
        metricName: `${this.name}_bucket`,
        labels: { ...labels, le: String(h.buckets[i]) },
        value: cumulative,
      });
    }
    this.samples.push({
      metricName: `${this.name}_bucket`,
      labels: { ...labels, le: "+Inf" },
      value: h.count,
    });
    this.samples.push({ metricName: `${this.name}_sum`, labels: { ...labels }, value: h.sum });
    this.samples.push({ metricName: `${this.name}_count`, labels: { ...labels }, value: h.count });
  }
}

let processRegistry: Registry | undefined;

/** prom-client default collectors left out: each lists every handle of the process at every scrape. */
const EXPENSIVE_COLLECTORS = [
  "nodejs_active_handles",
  "nodejs_active_handles_total",
  "nodejs_active_resources",
  "nodejs_active_resources_total",
];

/** prom-client's default collectors, registered once per process (they observe the process, not a server). */
function defaultCollectors(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    // Collectors whose cost grows with the connections, each run on the event loop at every scrape:
    // the active handles and resources list every socket, and the open files were a synchronous
    // readdir of /proc/self/fd. At 19,000 connections a scrape blocked the loop for 160-485 ms
    // (issue 11). The server's own gauges count connections and sessions; the open files are read
    // asynchronously.
    for (const name of [...EXPENSIVE_COLLECTORS, "process_open_fds"])
      processRegistry.removeSingleMetric(name);
    if (process.platform === "linux") {
      new Gauge({
        name: "process_open_fds",
        help: "Number of open file descriptors.",
        registers: [processRegistry],
        async collect() {
          try {
            // Minus the descriptor readdir itself held.
            this.set((await readdir("/proc/self/fd")).length - 1);
          } catch {
            // Not readable here: the gauge keeps its last value.
          }
        },
      });
    }
  }
  return processRegistry;
}

/** The Prometheus exposition of one server's metrics. */
export class PrometheusExporter {
  private elu: EventLoopUtilization = performance.eventLoopUtilization();

  constructor(private readonly metrics: Metrics) {
    // Start the process collectors now, so the event-loop lag has samples by the first scrape.
    defaultCollectors();
  }

  /** The content type of {@link PrometheusExporter.render}'s text. */
  readonly contentType: string = Registry.PROMETHEUS_CONTENT_TYPE;

  /** Builds a registry holding every family as of now (the server's and the process's). */
  registry(): Registry {
    const families = new Map<string, CoreFamily>();
    const family = (coreName: string, kind: MetricKind): CoreFamily => {
      const name = exportedName(coreName);
      let f = families.get(name);
      if (!f) {
        const described = METRIC_CATALOG[name];
        f = new CoreFamily(name, described?.help ?? `Skein ${kind} ${name}.`, described?.kind ?? kind);
        families.set(name, f);
      }
      return f;
    };
    const elu = performance.eventLoopUtilization(this.elu);
    this.elu = performance.eventLoopUtilization();
    this.metrics.set("skein_eventloop_utilization_ratio", elu.utilization);
    for (const s of this.metrics.allSeries()) {
      const kind = s.name.endsWith("_total") ? "counter" : "gauge";
      family(s.name, kind).samples.push({ labels: { ...s.labels }, value: s.value });
    }
    for (const s of this.metrics.allHistograms())
      family(s.name, "histogram").addHistogram(s.labels, s.histogram);
    // Described families that have not counted yet: a plain one shows 0, a labelled one its type and help.
    for (const [name, d] of Object.entries(METRIC_CATALOG)) {
      if (families.has(name)) continue;
      const f = family(name, d.kind);
      if (d.kind !== "histogram" && d.labels === undefined) f.samples.push({ labels: {}, value: 0 });
    }
    const registry = new Registry();
    for (const f of families.values()) registry.registerMetric(f as unknown as Metric);
    return Registry.merge([registry, defaultCollectors()]);
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry().metrics();
  }
}
