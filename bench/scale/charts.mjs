// @ts-check
// Line charts of the scale bench as hand-written SVG (no dependency): x on a log scale (sizes grow by
// 10x), y linear from 0 so that a flat curve looks flat, one polyline and its points per series, a
// legend on the right. docs/performance.md embeds the files the bench writes (docs/images/scale-*.svg).

const W = 640;
const H = 340;
const M = { left: 72, right: 170, top: 40, bottom: 52 };
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"];

/** @param {string} s */
const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** 1,000 -> 1k, 1,000,000 -> 1M. @param {number} n */
function short(n) {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 100 === 0) return `${n / 1e3}k`;
  return String(n);
}

/** A round step for about `ticks` intervals up to `max`. @param {number} max @param {number} ticks */
function niceStep(max, ticks) {
  const raw = max / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

/** @param {number} v @param {number} step */
function fmtTick(v, step) {
  const digits = step >= 1 ? 0 : Math.min(3, Math.ceil(-Math.log10(step)));
  return v.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * @typedef {object} Series
 * @property {string} name
 * @property {[number, number | null][]} points x, y (null: not measured)
 * @property {boolean} [dashed]
 * @property {number} [color] index into the palette (default: the series' own index)
 */

/**
 * An SVG line chart.
 * @param {{ title: string, xLabel: string, yLabel: string, series: Series[], note?: string }} c
 * @returns {string}
 */
export function lineChart(c) {
  const pts = c.series.flatMap((s) => s.points.filter((p) => p[1] !== null && Number.isFinite(p[1])));
  const xs = [...new Set(c.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const x0 = Math.log10(xs[0] ?? 1);
  const x1 = Math.log10(xs.at(-1) ?? 10);
  const span = x1 - x0 || 1;
  const yMaxData = Math.max(0, ...pts.map((p) => /** @type {number} */ (p[1])));
  const step = niceStep(yMaxData > 0 ? yMaxData : 1, 5);
  const yMax = Math.ceil((yMaxData > 0 ? yMaxData * 1.05 : 1) / step) * step;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  /** @param {number} x */
  const px = (x) => M.left + (xs.length === 1 ? pw / 2 : ((Math.log10(x) - x0) / span) * pw);
  /** @param {number} y */
  const py = (y) => M.top + ph - (y / yMax) * ph;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="22" font-size="14" font-weight="bold">${esc(c.title)}</text>`,
  ];
  for (let v = 0; v <= yMax + step / 1e6; v += step) {
    const y = py(v).toFixed(1);
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(
      `<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmtTick(v, step)}</text>`,
    );
  }
  for (const x of xs) {
    const X = px(x).toFixed(1);
    out.push(`<line x1="${X}" x2="${X}" y1="${M.top}" y2="${M.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${X}" y="${M.top + ph + 16}" text-anchor="middle">${short(x)}</text>`);
  }
  out.push(
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#333"/>`,
    `<line x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#333"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(c.xLabel)} (log scale)</text>`,
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`,
  );
  c.series.forEach((s, i) => {
    const color = COLORS[(s.color ?? i) % COLORS.length];
    const ok = s.points.filter((p) => p[1] !== null && Number.isFinite(p[1]));
    const dash = s.dashed ? ' stroke-dasharray="5 4"' : "";
    if (ok.length > 1) {
      const d = ok
        .map((p) => `${px(p[0]).toFixed(1)},${py(/** @type {number} */ (p[1])).toFixed(1)}`)
        .join(" ");
      out.push(`<polyline points="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    }
    for (const p of ok)
      out.push(
        `<circle cx="${px(p[0]).toFixed(1)}" cy="${py(/** @type {number} */ (p[1])).toFixed(1)}" r="3.5" fill="${color}"/>`,
      );
    const ly = M.top + 10 + i * 20;
    const lx = M.left + pw + 14;
    out.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
    );
    out.push(`<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`);
  });
  if (c.note)
    out.push(
      `<text x="${M.left + pw + 14}" y="${M.top + ph}" font-size="10" fill="#666">${esc(c.note)}</text>`,
    );
  out.push("</svg>");
  return out.join("\n") + "\n";
}
