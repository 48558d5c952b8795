/**
 * Counters, gauges and histograms the server keeps: connections, messages, drops, protocol errors by
 * reason, latencies. Exported as Prometheus text by `ops/prometheus.ts` (prom-client reads them at
 * scrape time) and read directly by tests and the `$SYS` topics. Hot paths hold a {@link Counter} and
 * bump its `value`, so counting costs one field increment; nothing here imports prom-client or `node:`.
 *
 * Naming: a name ending in `_total` is a counter, any other plain series is a gauge, histograms are
 * made with {@link Metrics.histogram}. Label values must be bounded (reasons, codes, doors, QoS), never
 * topic paths or client ids. Families are described for the exposition in `ops/metric-catalog.ts`.
 */

/** Label values of one series. */
export type Labels = Readonly<Record<string, string>>;

/** One series. */
export interface Counter {
  value: number;
}

/** One series as it is exported. */
export interface Series {
  /** The family name. */
  readonly name: string;
  /** Its labels (empty when none). */
  readonly labels: Labels;
  /** Its current value. */
  readonly value: number;
}

/** Latency buckets in seconds (100 µs to 10 s). */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Size buckets (counts of writes, events, ...). */
export const SIZE_BUCKETS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

/** A histogram with fixed upper bounds: `observe` costs a short scan and two additions. */
export class Histogram {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: number[];
  /** Sum of every observed value. */
  sum = 0;
  /** Number of observations. */
  count = 0;

  /** @param buckets - upper bounds, ascending */
  constructor(readonly buckets: readonly number[]) {
    this.counts = new Array<number>(buckets.length + 1).fill(0);
  }

  /** Records one value. */
  observe(value: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** One histogram series as it is exported. */
export interface HistogramSeries {
  /** The family name (e.g. `skein_storage_commit_duration_seconds`). */
  readonly name: string;
  /** Its labels. */
  readonly labels: Labels;
  /** The histogram. */
  readonly histogram: Histogram;
}

/** A gauge read when metrics are exported (e.g. connections by protocol version counted from the doors). */
export type GaugeReader = () => Iterable<readonly [labels: Labels, value: number]>;

interface Entry {
  readonly name: string;
  readonly labels: Labels;
  readonly counter: Counter;
}

/** A set of named counters, gauges and histograms with labels. */
export class Metrics {
  private readonly series = new Map<string, Entry>();
  private readonly histograms = new Map<string, HistogramSeries>();
  private readonly readers = new Map<string, GaugeReader>();
  /** Request outcome counters by outcome (one lookup per request, no key built). */
  private readonly outcomes = new Map<string, Counter>();
  /** Connect and disconnect counters by door, then outcome or reason (no key built per connection). */
  private readonly connects = new Map<string, Map<string, Counter>>();
  private readonly disconnects = new Map<string, Map<string, Counter>>();
  private requestLatency: Histogram | undefined;

  /** The counter of one series, created at 0 on first use; keep it to count on a hot path. */
  counter(name: string, labels?: Labels): Counter {
    const key = seriesKey(name, labels);
    let e = this.series.get(key);
    if (!e) this.series.set(key, (e = { name, labels: labels ?? {}, counter: { value: 0 } }));
    return e.counter;
  }

  /** Adds `by` (default 1) to a counter. */
  inc(name: string, labels?: Labels, by = 1): void {
    this.counter(name, labels).value += by;
  }

  /** Sets a gauge. */
  set(name: string, value: number, labels?: Labels): void {
    this.counter(name, labels).value = value;
  }

  /** The current value of a series (0 when never touched). */
  get(name: string, labels?: Labels): number {
    return this.series.get(seriesKey(name, labels))?.counter.value ?? 0;
  }

  /** Sum of a counter across all its labels. */
  total(name: string): number {
    let sum = 0;
    for (const e of this.series.values()) if (e.name === name) sum += e.counter.value;
    return sum;
  }

  /** The histogram of one series, created empty on first use; keep it to observe on a hot path. */
  histogram(name: string, labels?: Labels, buckets: readonly number[] = LATENCY_BUCKETS): Histogram {
    const key = seriesKey(name, labels);
    let h = this.histograms.get(key);
    if (!h) this.histograms.set(key, (h = { name, labels: labels ?? {}, histogram: new Histogram(buckets) }));
    return h.histogram;
  }

  /** Registers a gauge family computed when metrics are exported (replaces an earlier one of that name). */
  gauge(name: string, read: GaugeReader): void {
    this.readers.set(name, read);
  }

  /** Every plain series (counters and gauges, including computed gauges). */
  *allSeries(): Iterable<Series> {
    for (const e of this.series.values()) yield { name: e.name, labels: e.labels, value: e.counter.value };
    for (const [name, read] of this.readers)
      for (const [labels, value] of read()) yield { name, labels, value };
  }

  /** Every histogram series. */
  allHistograms(): Iterable<HistogramSeries> {
    return this.histograms.values();
  }

  /** Every series as `name{labels}` -> value. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, e] of this.series) out[key] = e.counter.value;
    return out;
  }

  /**
   * Plain text of every counter and gauge, one `name{labels} value` line each (no histograms, no
   * `# TYPE` lines): for tests and debugging. `/metrics` serves the prom-client exposition instead.
   */
  render(): string {
    const lines: string[] = [];
    for (const [key, e] of [...this.series].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
      lines.push(`${key} ${e.counter.value}`);
    return lines.join("\n") + "\n";
  }

  // Named operations for what other parts of the server report. Each is one line, so that callers
  // need not know the family names and labels (documented in docs/operations.md).

  /** A client failed to authenticate (`door`: mqtt | sdk; `reason`: a bounded word, e.g. bad_password). */
  authenticationFailed(door: string, reason: string): void {
    this.inc("skein_authentication_failures_total", { door, reason });
  }

  /** An error answered to a client or raised by an operation, by ErrorCode name. */
  error(code: string): void {
    this.inc("skein_errors_total", { code });
  }

  /** A client connection was accepted (`outcome` "accepted") or refused (a bounded reason). */
  connected(door: string, outcome: string): void {
    let byOutcome = this.connects.get(door);
    if (!byOutcome) this.connects.set(door, (byOutcome = new Map()));
    let c = byOutcome.get(outcome);
    if (!c) byOutcome.set(outcome, (c = this.counter("skein_connects_total", { door, outcome })));
    c.value++;
  }

  /** A client connection ended for `reason` (a bounded word: client_disconnect, connection_lost, ...). */
  disconnected(door: string, reason: string): void {
    let byReason = this.disconnects.get(door);
    if (!byReason) this.disconnects.set(door, (byReason = new Map()));
    let c = byReason.get(reason);
    if (!c) byReason.set(reason, (c = this.counter("skein_disconnects_total", { door, reason })));
    c.value++;
  }

  /** `count` events were appended to time series (by either door). */
  timeSeriesAppended(count = 1): void {
    this.inc("skein_timeseries_appends_total", undefined, count);
  }

  /** A time series range query took `seconds`. */
  timeSeriesQueried(seconds: number): void {
    this.histogram("skein_timeseries_query_duration_seconds").observe(seconds);
  }

  /** A store commit of `writes` writes took `seconds`. */
  storageCommitted(seconds: number, writes: number): void {
    this.histogram("skein_storage_commit_duration_seconds").observe(seconds);
    this.histogram("skein_storage_commit_batch_size", undefined, SIZE_BUCKETS).observe(writes);
  }

  /**
   * A request-response request ended with `outcome` ("ok" or an ErrorCode name), after `seconds` when it
   * reached a handler (refused at once: no latency is recorded).
   */
  requestCompleted(outcome: string, seconds?: number): void {
    let c = this.outcomes.get(outcome);
    if (!c) this.outcomes.set(outcome, (c = this.counter("messaging_requests_completed_total", { outcome })));
    c.value++;
    if (seconds !== undefined)
      (this.requestLatency ??= this.histogram("messaging_request_duration_seconds")).observe(seconds);
  }
}

function seriesKey(name: string, labels?: Labels): string {
  if (!labels) return name;
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, "_")}"`);
  return parts.length ? `${name}{${parts.join(",")}}` : name;
}
