// Request-response tester: send a request to a message path's handler and show its answer or error.
import { useState } from "preact/hooks";
import { ErrorBox, VALUE_TYPES, formatValue, html, parseValue } from "../lib.js";

export function Requests({ session }) {
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState(null);
  async function send(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const path = String(form.get("path") ?? "");
    const requestType = String(form.get("requestType"));
    const responseType = String(form.get("responseType"));
    const timeout = Number(form.get("timeout")) || 5000;
    setBusy(true);
    setAnswer(null);
    const started = performance.now();
    try {
      const body = parseValue(requestType, String(form.get("body") ?? ""));
      const value = await session.messaging.sendRequest(path, body, { requestType, responseType, timeout });
      setAnswer({ value, responseType, ms: performance.now() - started });
    } catch (err) {
      setAnswer({ error: err });
    }
    setBusy(false);
  }
  const types = (name, initial) =>
    html`<select name=${name}>
      ${VALUE_TYPES.map((t) => html`<option selected=${t === initial}>${t}</option>`)}
    </select>`;
  return html`<form class="card form" onSubmit=${send} aria-label="request">
      <label>Message path <input name="path" required placeholder="services/echo" /></label>
      <div class="row">
        <label>Request type ${types("requestType", "json")}</label>
        <label>Response type ${types("responseType", "json")}</label>
        <label>Timeout (ms) <input name="timeout" type="number" min="1" value="5000" /></label>
      </div>
      <label>Body <textarea name="body" rows="5">{}</textarea></label>
      <button type="submit" disabled=${busy}>${busy ? "Waiting…" : "Send request"}</button>
    </form>
    ${answer?.error ? html`<${ErrorBox} error=${answer.error} />` : null}
    ${
      answer && !answer.error
        ? html`<section class="card" aria-label="answer">
            <h2>Answer (${answer.responseType}, ${answer.ms.toFixed(1)} ms)</h2>
            <pre id="answer">${formatValue(answer.responseType, answer.value)}</pre>
          </section>`
        : null
    }`;
}
