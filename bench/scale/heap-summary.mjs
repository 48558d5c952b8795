#!/usr/bin/env node
// @ts-check
/**
 * The heap difference between two V8 heap snapshots, per connection, grouped by constructor (objects)
 * or by kind (strings, arrays, closures' contexts, code, ...): what N more idle connections cost the
 * heap, from the snapshots that bench/scale/floor.mjs --snapshots DIR writes.
 *
 *   node bench/scale/heap-summary.mjs DIR/0.heapsnapshot DIR/1.heapsnapshot 3000 [rows]
 */
import fs from "node:fs";

/** @param {string} file @returns {Map<string, { count: number, size: number }>} */
function groups(file) {
  const snap = JSON.parse(fs.readFileSync(file, "utf8"));
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [iType, iName, iSize] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  /** @type {Map<string, { count: number, size: number }>} */
  const out = new Map();
  const nodes = snap.nodes;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + iType]];
    const name = snap.strings[nodes[i + iName]];
    const key =
      type === "object" || type === "native" || type === "closure"
        ? `${type}: ${name}`
        : type === "hidden" || type === "array" || type === "object shape"
          ? `${type}: ${name.length > 40 ? name.slice(0, 40) + "…" : name}`
          : type;
    let g = out.get(key);
    if (g === undefined) out.set(key, (g = { count: 0, size: 0 }));
    g.count++;
    g.size += nodes[i + iSize];
  }
  return out;
}

const [a, b, nArg, rowsArg] = process.argv.slice(2);
const n = Number(nArg);
const before = groups(a);
const after = groups(b);
const rows = [...after].map(([k, g]) => {
  const o = before.get(k) ?? { count: 0, size: 0 };
  return { k, count: (g.count - o.count) / n, bytes: (g.size - o.size) / n };
});
rows.sort((x, y) => y.bytes - x.bytes);
const total = rows.reduce((s, r) => s + r.bytes, 0);
console.log(`heap per connection: ${total.toFixed(0)} bytes`);
console.log("| what | per connection: count | bytes |\n| --- | ---: | ---: |");
for (const r of rows.slice(0, Number(rowsArg ?? 40)))
  console.log(`| ${r.k} | ${r.count.toFixed(2)} | ${r.bytes.toFixed(0)} |`);
