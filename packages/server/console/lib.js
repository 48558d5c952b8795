// Shared pieces of the console's pages: the html template tag, error display, value formatting and
// parsing by topic type, and a live uPlot chart.
import { h } from "preact";
import { useEffect, useRef } from "preact/hooks";
import htm from "htm";
import uPlot from "uplot";

/** JSX-like templates without a build step: html`<p>${text}</p>`. */
export const html = htm.bind(h);

/** The types a topic value can have (time series events have one of these too). */
export const VALUE_TYPES = ["json", "string", "int64", "double", "binary"];

/** "CODE: message" of a SkeinError (or any error). */
export function errorText(error) {
  if (!error) return "";
  return error.code ? `${error.code}: ${error.message}` : String(error.message ?? error);
}

/** An error box; a refusal by the server (NOT_AUTHORIZED) says which permission is missing. */
export function ErrorBox({ error }) {
  if (!error) return null;
  const refused = error.code === "NOT_AUTHORIZED";
  return html`<div class="error" role="alert" data-code=${error.code ?? ""}>
    ${refused ? html`<strong>Refused by the server. </strong>` : null}${errorText(error)}
  </div>`;
}

/** A value shown as text, by type. */
export function formatValue(type, value) {
  if (value === undefined) return "—";
  switch (type) {
    case "json":
      return JSON.stringify(value);
    case "int64":
      return value.toString();
    case "binary":
    case "time-series":
      return value instanceof Uint8Array
        ? `${value.length} bytes: ${hex(value.subarray(0, 32))}`
        : String(value);
    default:
      return String(value);
  }
}

/** Text to a value of `type` (throws a readable Error when it does not parse). */
export function parseValue(type, text) {
  switch (type) {
    case "json":
      return JSON.parse(text);
    case "string":
      return text;
    case "int64":
      if (!/^-?\d+$/.test(text.trim())) throw new Error("an int64 is a whole number");
      return BigInt(text.trim());
    case "double": {
      const n = Number(text);
      if (text.trim() === "" || Number.isNaN(n)) throw new Error("a double is a number");
      return n;
    }
    case "binary": {
      const clean = text.replace(/\s+/g, "");
      if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error("binary is written as hex bytes");
      return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
    }
    default:
      throw new Error(`cannot edit a ${type} value`);
  }
}

/** A value as editable text (the inverse of parseValue). */
export function editableText(type, value) {
  if (value === undefined) return "";
  if (type === "json") return JSON.stringify(value, null, 2);
  if (type === "binary" && value instanceof Uint8Array) return hex(value);
  return String(value);
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/**
 * A live line chart (uPlot). `data` is `[xs, ...ys]` with x in seconds; `series` names the lines.
 * The chart follows its container's width.
 */
export function Chart({ title, series, data, id }) {
  const box = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const el = box.current;
    const colours = ["#2563eb", "#16a34a", "#dc2626", "#9333ea"];
    plot.current = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: 180,
        series: [{}, ...series.map((label, i) => ({ label, stroke: colours[i % colours.length], width: 2 }))],
        axes: [{}, { size: 50 }],
        legend: { live: false },
      },
      data,
      el,
    );
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 180 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
    };
  }, [series.join(",")]);
  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);
  return html`<figure class="chart" id=${id} data-points=${data[0].length}>
    <figcaption>${title}</figcaption>
    <div ref=${box}></div>
  </figure>`;
}
