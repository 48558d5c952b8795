// Time series: a live chart of a time series topic's latest events and a range-query table
// (session.timeseries, issue 9 §2). Servers and SDKs without time series say so.
import { useEffect, useState } from "preact/hooks";
import { Chart, ErrorBox, formatValue, html } from "../lib.js";

const INTERVAL_MS = 1000;

/** A number to chart from an event value (numbers, bigints, numeric strings), else null. */
function numeric(value) {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  const n = Number(value);
  return typeof value === "string" && value.trim() !== "" && Number.isFinite(n) ? n : null;
}

function Live({ session, path, count }) {
  const [events, setEvents] = useState([]);
  const [error, setError] = useState(null);
  useEffect(() => {
    let stopped = false;
    let timer;
    const tick = async () => {
      try {
        const result = await session.timeseries.rangeQuery().fromLast(count).selectFrom(path);
        if (stopped) return;
        setError(null);
        setEvents(result.events);
      } catch (err) {
        if (!stopped) setError(err);
      }
      if (!stopped) timer = setTimeout(tick, INTERVAL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [session, path, count]);
  const points = events.filter((e) => numeric(e.value) !== null);
  return html`<${ErrorBox} error=${error} />
    <${Chart}
      id="chart-timeseries"
      title=${`${path}: last ${count} events`}
      series=${["value"]}
      data=${[points.map((e) => Number(e.timestamp) / 1000), points.map((e) => numeric(e.value))]}
    />`;
}

function RangeTable({ session, path }) {
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  async function query(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    setError(null);
    try {
      let q = session.timeseries.rangeQuery();
      const from = String(form.get("from") ?? "").trim();
      const to = String(form.get("to") ?? "").trim();
      q = from === "" ? q.fromStart() : q.from(Number(from));
      if (to !== "") q = q.to(Number(to));
      if (form.get("view") === "edits") q = q.forEdits();
      q = q.limit(Number(form.get("limit")) || 100);
      setResult(await q.selectFrom(path));
    } catch (err) {
      setError(err);
    }
  }
  return html`<form class="row" onSubmit=${query} aria-label="range query">
      <label>From sequence <input name="from" type="number" min="0" placeholder="start" /></label>
      <label>To sequence <input name="to" type="number" min="0" placeholder="end" /></label>
      <label
        >View
        <select name="view">
          <option value="values">values</option>
          <option value="edits">edits</option>
        </select></label
      >
      <label>Limit <input name="limit" type="number" min="1" value="100" /></label>
      <button type="submit">Query</button>
    </form>
    <${ErrorBox} error=${error} />
    ${
      result
        ? html`<p class="muted">
              ${result.selectedCount} selected${result.isComplete ? "" : " (more past the limit)"}
            </p>
            <div class="scroll">
              <table class="list" id="range-result">
                <thead>
                  <tr>
                    <th>Sequence</th>
                    <th>Time</th>
                    <th>Author</th>
                    <th>Value</th>
                    <th>Edit of</th>
                  </tr>
                </thead>
                <tbody>
                  ${result.events.map(
                    (e) =>
                      html`<tr>
                        <td>${String(e.sequence)}</td>
                        <td>${new Date(Number(e.timestamp)).toLocaleString()}</td>
                        <td>${e.author}</td>
                        <td>
                          ${typeof e.value === "object" && !(e.value instanceof Uint8Array) ? JSON.stringify(e.value) : formatValue(typeof e.value === "bigint" ? "int64" : "string", e.value)}
                        </td>
                        <td>${e.isEdit ? String(e.originalSequence) : ""}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
        : null
    }`;
}

export function TimeSeries({ session }) {
  const [paths, setPaths] = useState([]);
  const [path, setPath] = useState(null);
  const [error, setError] = useState(null);
  const available = typeof session.timeseries?.rangeQuery === "function";
  useEffect(() => {
    if (!available) return;
    session
      .fetch("*.*", { types: ["time-series"], first: 1000 })
      .then((page) => {
        setPaths(page.topics.map((t) => t.path));
        setPath((p) => p ?? page.topics[0]?.path ?? null);
      })
      .catch(setError);
  }, [session]);
  if (!available) {
    return html`<p class="notice" id="timeseries-unavailable">
      Time series are not available: this SDK has no <code>session.timeseries</code>.
    </p>`;
  }
  return html`<${ErrorBox} error=${error} />
    <label class="toolbar"
      >Topic
      <select id="timeseries-topic" onChange=${(e) => setPath(e.target.value)}>
        ${paths.map((p) => html`<option selected=${p === path}>${p}</option>`)}
      </select>
    </label>
    ${
      path
        ? html`<${Live} session=${session} path=${path} count=${100} /><${RangeTable}
              session=${session}
              path=${path}
            />`
        : html`<p class="muted">No time series topics.</p>`
    }`;
}
