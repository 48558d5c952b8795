// The Skein web console: log in as a principal over the SDK door, then browse the server's pages.
// Every figure comes through the SDK as the logged-in principal; the server decides what it may see
// and change, and the pages show its refusals.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { connect } from "skein";
import { ErrorBox, html } from "./lib.js";
import { Overview } from "./pages/overview.js";
import { Topics } from "./pages/topics.js";
import { TimeSeries } from "./pages/timeseries.js";
import { Sessions } from "./pages/sessions.js";
import { Requests } from "./pages/requests.js";
import { Security } from "./pages/security.js";

const PAGES = [
  { id: "overview", title: "Overview", component: Overview },
  { id: "topics", title: "Topics", component: Topics },
  { id: "timeseries", title: "Time series", component: TimeSeries },
  { id: "sessions", title: "Sessions", component: Sessions },
  { id: "requests", title: "Requests", component: Requests },
  { id: "security", title: "Security", component: Security },
];

/** The SDK door's URL on this server (its path comes from config.json). */
async function sdkUrl() {
  const config = await (await fetch("config.json")).json();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${config.sdkPath}`;
}

function Login({ onLogin }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const principal = String(form.get("principal") ?? "");
    const password = String(form.get("password") ?? "");
    setBusy(true);
    setError(null);
    let session;
    try {
      session = await connect(await sdkUrl(), {
        principal: principal || undefined,
        password: password || undefined,
        properties: { client: "console" },
      });
      // Only sessions with view_server see the console's data: the server checks it here.
      const status = await session.server.status();
      onLogin({ session, principal: principal || "(anonymous)", status });
    } catch (err) {
      await session?.close().catch(() => {});
      setError(
        err?.code === "NOT_AUTHORIZED"
          ? { code: err.code, message: "this principal lacks view_server, which the console needs" }
          : err,
      );
      setBusy(false);
    }
  }
  return html`<main class="login">
    <form onSubmit=${submit} class="card" aria-label="log in">
      <h1>Skein console</h1>
      <label>Principal <input name="principal" autocomplete="username" autofocus /></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" /></label>
      <button type="submit" disabled=${busy}>${busy ? "Logging in…" : "Log in"}</button>
      <${ErrorBox} error=${error} />
    </form>
  </main>`;
}

function currentPage() {
  const id = location.hash.replace(/^#\/?/, "");
  return PAGES.find((p) => p.id === id) ?? PAGES[0];
}

function Shell({ login, onLogout }) {
  const [page, setPage] = useState(currentPage());
  const [state, setState] = useState(login.session.state);
  useEffect(() => {
    const onHash = () => setPage(currentPage());
    window.addEventListener("hashchange", onHash);
    const offs = ["connected", "disconnected", "reconnected", "closed"].map((e) =>
      login.session.on(e, () => setState(login.session.state)),
    );
    return () => {
      window.removeEventListener("hashchange", onHash);
      for (const off of offs) off();
    };
  }, []);
  const Page = page.component;
  return html`<div class="shell">
    <header>
      <span class="brand">Skein</span>
      <nav>
        ${PAGES.map(
          (p) =>
            html`<a href=${`#/${p.id}`} class=${p.id === page.id ? "active" : ""} data-page=${p.id}
              >${p.title}</a
            >`,
        )}
      </nav>
      <span class="who">
        <span class=${`dot ${state}`} title=${state}></span>${login.principal}
        <button class="link" onClick=${onLogout}>Log out</button>
      </span>
    </header>
    <main id=${`page-${page.id}`}>
      <h1>${page.title}</h1>
      <${Page} session=${login.session} status=${login.status} />
    </main>
  </div>`;
}

function App() {
  const [login, setLogin] = useState(null);
  useEffect(() => {
    if (!login) return;
    return login.session.on("closed", () => setLogin(null));
  }, [login]);
  if (!login) return html`<${Login} onLogin=${setLogin} />`;
  return html`<${Shell}
    login=${login}
    onLogout=${() => {
      void login.session.close();
      setLogin(null);
    }}
  />`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "Loading" line
render(html`<${App} />`, root);
