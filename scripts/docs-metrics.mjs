// Rewrites the metrics reference of docs/operations.md from the registry (run after a build):
// npm run docs:metrics
import { readFileSync, writeFileSync } from "node:fs";
import {
  REFERENCE_BEGIN,
  REFERENCE_END,
  metricsReference,
} from "../packages/server/dist/ops/metrics-reference.js";

const file = new URL("../docs/operations.md", import.meta.url);
const doc = readFileSync(file, "utf8");
const start = doc.indexOf(REFERENCE_BEGIN);
const end = doc.indexOf(REFERENCE_END);
if (start < 0 || end < start) throw new Error("docs/operations.md has no metrics reference markers");
const next = `${doc.slice(0, start + REFERENCE_BEGIN.length)}\n\n${await metricsReference()}\n\n${doc.slice(end)}`;
writeFileSync(file, next);
process.stdout.write(
  next === doc
    ? "docs/operations.md: metrics reference up to date\n"
    : "docs/operations.md: metrics reference rewritten\n",
);
