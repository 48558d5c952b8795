// Overview: the server's own figures (session.server.status(), view_server) read every second, with
// connections, message rates and drops as live charts of the last two minutes.
import { useEffect, useState } from "preact/hooks";
import { Chart, ErrorBox, html } from "../lib.js";

const KEEP = 120;
const INTERVAL_MS = Number(new URLSearchParams(location.search).get("interval")) || 1000;

function rate(now, before, key) {
  if (!before) return 0;
  const seconds = (now.time - before.time) / 1000;
  return seconds > 0 ? Math.max(0, (now.counters[key] - before.counters[key]) / seconds) : 0;
}

export function Overview({ session, status: first }) {
  const [status, setStatus] = useState(first);
  const [error, setError] = useState(null);
  const [series, setSeries] = useState({
    t: [],
    mqtt: [],
    sdk: [],
    in: [],
    out: [],
    updates: [],
    dropped: [],
    slow: [],
  });
  useEffect(() => {
    let previous;
    let stopped = false;
    let timer;
    const tick = async () => {
      try {
        const now = await session.server.status();
        if (stopped) return;
        setError(null);
        setStatus(now);
        const before = previous;
        previous = now;
        setSeries((s) => {
          const push = (list, v) => [...list, v].slice(-KEEP);
          return {
            t: push(s.t, now.time / 1000),
            mqtt: push(s.mqtt, now.connections.mqtt),
            sdk: push(s.sdk, now.connections.sdk),
            in: push(s.in, rate(now, before, "mqttMessagesReceived")),
            out: push(s.out, rate(now, before, "mqttMessagesSent")),
            updates: push(s.updates, rate(now, before, "updates")),
            dropped: push(s.dropped, rate(now, before, "mqttMessagesDropped")),
            slow: push(s.slow, rate(now, before, "slowConsumers")),
          };
        });
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
  }, [session]);
  const c = status.counters;
  const cards = [
    ["Connections", status.connections.mqtt + status.connections.sdk, "connections"],
    ["MQTT", status.connections.mqtt, "mqtt-connections"],
    ["SDK", status.connections.sdk, "sdk-connections"],
    ["Topics", status.topics, "topics"],
    ["Subscriptions", status.subscriptions, "subscriptions"],
    ["Updates", c.updates, "updates"],
    ["MQTT in", c.mqttMessagesReceived, "mqtt-in"],
    ["MQTT out", c.mqttMessagesSent, "mqtt-out"],
    ["Dropped", c.mqttMessagesDropped, "dropped"],
    ["Requests", c.requests, "requests"],
    ["Login failures", c.loginFailures, "login-failures"],
    ["Uptime", `${Math.round(status.uptimeMs / 1000)} s`, "uptime"],
  ];
  return html`<${ErrorBox} error=${error} />
    <section class="cards">
      ${cards.map(
        ([label, value, id]) =>
          html`<div class="card figure">
            <span class="label">${label}</span><span class="value" id=${`fig-${id}`}>${value}</span>
          </div>`,
      )}
    </section>
    <section class="charts">
      <${Chart}
        id="chart-connections"
        title="Connections"
        series=${["MQTT", "SDK"]}
        data=${[series.t, series.mqtt, series.sdk]}
      />
      <${Chart}
        id="chart-rates"
        title="Messages per second"
        series=${["MQTT in", "MQTT out", "updates"]}
        data=${[series.t, series.in, series.out, series.updates]}
      />
      <${Chart}
        id="chart-drops"
        title="Drops per second"
        series=${["queue drops", "slow consumers"]}
        data=${[series.t, series.dropped, series.slow]}
      />
    </section>
    <p class="muted">
      Skein ${status.version}; figures every ${INTERVAL_MS / 1000} s from the server's own counters.
    </p>`;
}
