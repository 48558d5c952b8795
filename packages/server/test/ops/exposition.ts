/**
 * A small parser of the Prometheus text exposition (format 0.0.4) for the operations tests: it checks
 * every line as it reads it, so a malformed exposition fails the test that scrapes it.
 */

/** One sample: its name, labels and value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: types by family, and every sample. */
export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** The value of the sample `name` with exactly `labels` (0 when absent). */
  value(name: string, labels?: Record<string, string>): number;
  /** Sum of every sample of `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|[Nn]a[Nn]|[+-]?Inf)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses `text`; throws on a line that is not a comment, a blank or a sample of a declared family. */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) continue;
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(" ");
      if (!name || !type || !["counter", "gauge", "histogram", "summary", "untyped"].includes(type))
        throw new Error(`bad TYPE line: ${line}`);
      types.set(name, type);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const name = m[1] as string;
    const family = [...types.keys()].find(
      (f) =>
        name === f ||
        (types.get(f) !== "counter" &&
          /^_(bucket|sum|count)$/.test(name.slice(f.length)) &&
          name.startsWith(f)),
    );
    if (!family) throw new Error(`sample of an undeclared family: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? "").matchAll(LABEL)) labels[l[1] as string] = l[2] as string;
    samples.push({ name, labels, value: Number(m[4]) });
  }
  const includes = (s: Sample, labels: Record<string, string>): boolean =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  return {
    types,
    samples,
    value: (name, labels = {}) =>
      samples.find(
        (s) =>
          s.name === name &&
          includes(s, labels) &&
          Object.keys(s.labels).length === Object.keys(labels).length,
      )?.value ?? 0,
    sum: (name, labels = {}) =>
      samples.filter((s) => s.name === name && includes(s, labels)).reduce((a, s) => a + s.value, 0),
  };
}

/** Scrapes `/metrics` of the HTTP port and parses it. */
export async function scrape(httpPort: number | undefined, token?: string): Promise<Exposition> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseExposition(await res.text());
}
