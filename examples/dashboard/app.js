// The dashboard page's script: connects to the SDK door with the SDK's browser bundle (served by
// serve.mjs at /skein-sdk.browser.js, from @skein/sdk/browser), selects `>sensors//` (what the MQTT
// filter sensors/# names) and keeps a table of every selected topic's latest value, whatever its type.
//
// How it learns the server: ?sdk=ws://host:port/sdk in the page's URL, else /config.json from serve.mjs.
/* global document, location, fetch, TextDecoder, URLSearchParams */
import { connect } from "/skein-sdk.browser.js";

const params = new URLSearchParams(location.search);
const config = params.has("sdk") ? {} : await (await fetch("config.json")).json();
const sdkUrl = params.get("sdk") ?? config.sdkUrl;
const selector = params.get("selector") ?? ">sensors//";

const statusEl = document.getElementById("status");
const tbody = document.getElementById("topics");
const emptyEl = document.getElementById("empty");
document.getElementById("selector").textContent = selector;
document.getElementById("server").textContent = sdkUrl;

/** Table rows by topic path. */
const rows = new Map();

function showStatus(text, kind = text) {
  statusEl.textContent = text;
  statusEl.className = kind;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A value as text: JSON as JSON, int64 (a bigint) in decimal, bytes as text when they are printable UTF-8. */
function format(type, value) {
  if (value === undefined) return "—";
  switch (type) {
    case "json":
      return JSON.stringify(value);
    case "binary":
      try {
        const text = utf8.decode(value);
        // eslint-disable-next-line no-control-regex
        if (!/[\u0000-\u0008\u000e-\u001f]/.test(text)) return text;
      } catch {
        // not UTF-8: fall through to hex
      }
      return [...value].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    default:
      return String(value);
  }
}

function upsert(path, type, value, flash) {
  let row = rows.get(path);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.path = path;
    for (const name of ["path", "type", "value", "updated"]) {
      const cell = document.createElement("td");
      cell.className = name;
      row.append(cell);
    }
    row.cells[0].textContent = path;
    rows.set(path, row);
    // Keep the table in path order.
    const next = [...rows.keys()].sort().find((p) => p > path);
    tbody.insertBefore(row, next ? rows.get(next) : null);
  }
  row.dataset.type = type;
  row.cells[1].textContent = type;
  row.cells[2].textContent = format(type, value);
  row.cells[3].textContent = value === undefined ? "" : new Date().toLocaleTimeString();
  if (flash) {
    row.classList.remove("flash");
    void row.offsetWidth; // restart the animation
    row.classList.add("flash");
  }
  emptyEl.hidden = rows.size > 0;
}

function remove(path) {
  rows.get(path)?.remove();
  rows.delete(path);
  emptyEl.hidden = rows.size > 0;
}

try {
  const session = await connect(sdkUrl);
  showStatus("connected");
  session.on("disconnected", () => showStatus("reconnecting"));
  session.on("connected", () => showStatus("connected"));
  session.on("closed", ({ error }) => showStatus(error ? `closed: ${error.code}` : "closed", "closed"));
  // A new session (the old one expired while we were away) selects nothing: select again.
  session.on("reconnected", ({ resumed }) => {
    if (!resumed) session.select(selector).catch((err) => showStatus(`error: ${err.code}`, "error"));
  });

  // One stream per type: each value arrives decoded to its JS type (int64 as bigint, binary as bytes).
  for (const type of ["json", "string", "int64", "double", "binary"]) {
    session.addStream(selector, type, {
      onSubscribe: (path, _spec, value) => upsert(path, type, value, false),
      onValue: (path, _spec, value) => upsert(path, type, value, true),
      onUnsubscribe: (path) => remove(path),
    });
  }
  await session.select(selector);
} catch (err) {
  showStatus(`error: ${err.code ?? err.message}`, "error");
  throw err;
}
