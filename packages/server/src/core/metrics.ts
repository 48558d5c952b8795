/**
 * Counters and gauges the server keeps: connections, messages, drops and protocol errors by reason.
 * Rendered as Prometheus text by the admin endpoint; read directly by tests. Hot paths hold a
 * {@link Counter} and bump its `value`, so counting costs one field increment.
 */

/** Label values of one series. */
export type Labels = Readonly<Record<string, string>>;

/** One series. */
export interface Counter {
  value: number;
}

/** A set of named counters with labels. */
export class Metrics {
  private readonly series = new Map<string, Counter>();

  /** The counter of one series, created at 0 on first use; keep it to count on a hot path. */
  counter(name: string, labels?: Labels): Counter {
    const key = seriesKey(name, labels);
    let c = this.series.get(key);
    if (!c) this.series.set(key, (c = { value: 0 }));
    return c;
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
    return this.series.get(seriesKey(name, labels))?.value ?? 0;
  }

  /** Sum of a counter across all its labels. */
  total(name: string): number {
    let sum = 0;
    for (const [key, c] of this.series) if (key === name || key.startsWith(`${name}{`)) sum += c.value;
    return sum;
  }

  /** Every series as `name{labels}` -> value. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, c] of this.series) out[key] = c.value;
    return out;
  }

  /** Prometheus text exposition. */
  render(): string {
    const lines: string[] = [];
    for (const [key, c] of [...this.series].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
      lines.push(`${key} ${c.value}`);
    return lines.join("\n") + "\n";
  }
}

function seriesKey(name: string, labels?: Labels): string {
  if (!labels) return name;
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, "_")}"`);
  return parts.length ? `${name}{${parts.join(",")}}` : name;
}
