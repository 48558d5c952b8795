/**
 * Counters and gauges the server keeps: connections, messages, drops and protocol errors by reason.
 * Rendered as Prometheus text by the admin endpoint; read directly by tests.
 */

/** Label values of one series. */
export type Labels = Readonly<Record<string, string>>;

/** A set of named counters with labels. */
export class Metrics {
  private readonly values = new Map<string, number>();

  /** Adds `by` (default 1) to a counter. */
  inc(name: string, labels?: Labels, by = 1): void {
    const key = seriesKey(name, labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  /** Sets a gauge. */
  set(name: string, value: number, labels?: Labels): void {
    this.values.set(seriesKey(name, labels), value);
  }

  /** The current value of a series (0 when never touched). */
  get(name: string, labels?: Labels): number {
    return this.values.get(seriesKey(name, labels)) ?? 0;
  }

  /** Sum of a counter across all its labels. */
  total(name: string): number {
    let sum = 0;
    for (const [key, v] of this.values) if (key === name || key.startsWith(`${name}{`)) sum += v;
    return sum;
  }

  /** Every series as `name{labels}` -> value. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.values);
  }

  /** Prometheus text exposition. */
  render(): string {
    const lines: string[] = [];
    for (const [key, v] of [...this.values].sort()) lines.push(`${key} ${v}`);
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
