// Sessions of both doors (session.clients): their properties, live through a session-event watch,
// the selected one's subscriptions (getSubscriptions, view_session), and actions to subscribe them, unsubscribe them and close them (modify_session).
import { useEffect, useState } from "preact/hooks";
import { ErrorBox, html } from "../lib.js";

const COLUMNS = ["$Transport", "$Principal", "$ClientId", "$ClientIP", "$StartTime"];

function startTime(value) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? new Date(n).toLocaleTimeString() : (value ?? "");
}

function describe(s) {
  const parts = [];
  if (s.qos !== undefined) parts.push(`QoS ${s.qos}`);
  if (s.shareGroup !== undefined) parts.push(`shared, group ${s.shareGroup}`);
  return parts.join(", ");
}

// The session's subscriptions: MQTT topic filters with QoS and share group, SDK selector expressions.
function Subscriptions({ session, sessionId, version }) {
  const [subs, setSubs] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let stopped = false;
    setSubs(null);
    setError(null);
    session.clients.getSubscriptions(sessionId).then(
      (list) => !stopped && setSubs(list),
      (err) => !stopped && setError(err),
    );
    return () => {
      stopped = true;
    };
  }, [session, sessionId, version]);
  return html`<h3>Subscriptions</h3>
    <${ErrorBox} error=${error} />
    ${
      subs === null
        ? error
          ? null
          : html`<p class="muted">Loading…</p>`
        : subs.length === 0
          ? html`<p class="muted" id="subscriptions-none">No subscriptions.</p>`
          : html`<table class="props" aria-label="subscriptions">
              ${subs.map(
                (s) =>
                  html`<tr data-subscription=${s.subscription}>
                    <th>${s.subscription}</th>
                    <td>${describe(s)}</td>
                  </tr>`,
              )}
            </table>`
    }`;
}

function Details({ session, info }) {
  const [error, setError] = useState(null);
  const [note, setNote] = useState(null);
  const [version, setVersion] = useState(0);
  async function act(what, run) {
    setError(null);
    setNote(null);
    try {
      const count = await run();
      setNote(`${what}: ${count} session${count === 1 ? "" : "s"}`);
    } catch (err) {
      setError(err);
    }
    setVersion((v) => v + 1);
  }
  const subscription = (op) => (e) => {
    e.preventDefault();
    const selector = String(new FormData(e.target.form).get("selector") ?? "");
    void act(op, () => session.clients[op]({ sessionId: info.sessionId }, selector));
  };
  return html`<section class="card" aria-label="session details">
    <h2>${info.sessionId}${info.sessionId === session.sessionId ? " (this console)" : ""}</h2>
    <table class="props">
      ${Object.entries(info.properties)
        .sort()
        .map(
          ([k, v]) =>
            html`<tr>
              <th>${k}</th>
              <td>${v}</td>
            </tr>`,
        )}
    </table>
    <${Subscriptions} session=${session} sessionId=${info.sessionId} version=${version} />
    <form class="row">
      <label>Selector or MQTT filter <input name="selector" placeholder=">sensors//" /></label>
      <button onClick=${subscription("subscribe")}>Subscribe it</button>
      <button onClick=${subscription("unsubscribe")}>Unsubscribe it</button>
    </form>
    <button
      class="danger"
      id="close-session"
      onClick=${() => act("closed", () => session.clients.close({ sessionId: info.sessionId }))}
    >
      Close session
    </button>
    ${note ? html`<span class="ok" role="status">${note}</span>` : null}
    <${ErrorBox} error=${error} />
  </section>`;
}

export function Sessions({ session }) {
  const [sessions, setSessions] = useState(new Map());
  const [selected, setSelected] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let stopped = false;
    let watch;
    const apply = (event) =>
      setSessions((s) => {
        const next = new Map(s);
        if (event.event === "closed") next.delete(event.sessionId);
        else next.set(event.sessionId, { sessionId: event.sessionId, properties: event.properties });
        return next;
      });
    (async () => {
      try {
        // Watch first, then list: nothing that happens in between is missed.
        watch = await session.clients.onSessionEvent(undefined, apply);
        const list = await session.clients.list();
        if (stopped) return;
        setSessions((s) => {
          const next = new Map(list.map((i) => [i.sessionId, i]));
          for (const [id, info] of s) next.set(id, info);
          return next;
        });
      } catch (err) {
        if (!stopped) setError(err);
      }
    })();
    return () => {
      stopped = true;
      void watch?.close().catch(() => {});
    };
  }, [session]);
  const rows = [...sessions.values()].sort(
    (a, b) => Number(a.properties.$StartTime) - Number(b.properties.$StartTime),
  );
  const info = selected ? sessions.get(selected) : undefined;
  return html`<${ErrorBox} error=${error} />
    <p class="muted" id="session-count">${rows.length} sessions</p>
    <div class="split">
      <div class="scroll">
        <table class="list" aria-label="sessions">
          <thead>
            <tr>
              <th>Session</th>
              ${COLUMNS.map((c) => html`<th>${c.slice(1)}</th>`)}
            </tr>
          </thead>
          <tbody>
            ${rows.map(
              (r) =>
                html`<tr
                  data-session=${r.sessionId}
                  data-principal=${r.properties.$Principal ?? ""}
                  data-client-id=${r.properties.$ClientId ?? ""}
                  class=${selected === r.sessionId ? "selected" : ""}
                  onClick=${() => setSelected(r.sessionId)}
                >
                  <td><button class="link">${r.sessionId.slice(0, 8)}</button></td>
                  ${COLUMNS.map((c) => html`<td>${c === "$StartTime" ? startTime(r.properties[c]) : (r.properties[c] ?? "")}</td>`)}
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      ${info ? html`<${Details} session=${session} info=${info} />` : html`<p class="muted">Pick a session to see its properties.</p>`}
    </div>`;
}
