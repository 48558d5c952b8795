// The security store (session.security): principals with their roles, roles with their permissions,
// anonymous access. Reading needs view_security, every change modify_security: the server decides,
// and a refusal shows here as it came.
import { useEffect, useState } from "preact/hooks";
import { ErrorBox, html } from "../lib.js";

const list = (text) =>
  String(text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export function Security({ session }) {
  const [store, setStore] = useState(null);
  const [error, setError] = useState(null);
  const [note, setNote] = useState(null);
  async function reload() {
    try {
      setStore(await session.security.get());
    } catch (err) {
      setError(err);
    }
  }
  useEffect(() => void reload(), [session]);
  async function change(what, run) {
    setError(null);
    setNote(null);
    try {
      await run();
      setNote(what);
      await reload();
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  }
  const onForm = (what, run) => (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    void change(what, () => run(form)).then((ok) => ok && event.target.reset());
  };
  return html`${note ? html`<p class="ok" role="status">${note}</p>` : null}
    <${ErrorBox} error=${error} />
    ${
      store
        ? html`<section class="card" aria-label="principals">
              <h2>Principals</h2>
              <div class="scroll">
                <table class="list" id="principals">
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>Roles</th>
                      <th></th>
                    </tr>
                  </thead>
                  <tbody>
                    ${store.principals.map(
                      (p) =>
                        html`<tr data-principal=${p.name}>
                          <td>${p.name}</td>
                          <td>${p.roles.join(", ")}</td>
                          <td>
                            <button
                              class="danger small"
                              onClick=${() => change(`removed ${p.name}`, () => session.security.removePrincipal(p.name))}
                            >
                              Remove
                            </button>
                          </td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>
              <form
                class="row"
                id="add-principal"
                onSubmit=${onForm("principal added", (f) =>
                  session.security.addPrincipal(
                    String(f.get("name")),
                    String(f.get("password")),
                    list(f.get("roles")),
                  ),
                )}
              >
                <label>Name <input name="name" required /></label>
                <label
                  >Password <input name="password" type="password" required autocomplete="new-password"
                /></label>
                <label>Roles <input name="roles" placeholder="admin, users" /></label>
                <button type="submit">Add principal</button>
              </form>
              <form
                class="row"
                onSubmit=${onForm("roles assigned", (f) => session.security.assignRoles(String(f.get("name")), list(f.get("roles"))))}
              >
                <label>Principal <input name="name" required /></label>
                <label>Roles <input name="roles" /></label>
                <button type="submit">Assign roles</button>
              </form>
              <form
                class="row"
                onSubmit=${onForm("password set", (f) => session.security.setPassword(String(f.get("name")), String(f.get("password"))))}
              >
                <label>Principal <input name="name" required /></label>
                <label
                  >New password <input name="password" type="password" required autocomplete="new-password"
                /></label>
                <button type="submit">Set password</button>
              </form>
            </section>
            <section class="card" aria-label="roles">
              <h2>Roles</h2>
              <div class="scroll">
                <table class="list" id="roles">
                  <thead>
                    <tr>
                      <th>Role</th>
                      <th>Global permissions</th>
                      <th>Path permissions</th>
                      <th>Includes</th>
                      <th></th>
                    </tr>
                  </thead>
                  <tbody>
                    ${store.roles.map(
                      (r) =>
                        html`<tr data-role=${r.name}>
                          <td>${r.name}</td>
                          <td>${r.global.join(", ")}</td>
                          <td>
                            ${Object.entries(r.paths).map(
                              ([path, perms]) =>
                                html`<div>
                                  <code>${path === "" ? "(root)" : path}</code>:
                                  ${perms.join(", ") || "(none)"}
                                </div>`,
                            )}
                          </td>
                          <td>${r.includes.join(", ")}</td>
                          <td>
                            <button
                              class="danger small"
                              onClick=${() => change(`removed role ${r.name}`, () => session.security.removeRole(r.name))}
                            >
                              Remove
                            </button>
                          </td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>
              <form
                class="form"
                onSubmit=${onForm("role defined", (f) => session.security.defineRole(JSON.parse(String(f.get("role")))))}
              >
                <label
                  >Define or replace a role (JSON)
                  <textarea name="role" rows="4">
{ "name": "operators", "global": ["view_server"], "paths": { "": ["read_topic", "select_topic"] }, "includes": [] }</textarea>
                </label>
                <button type="submit">Define role</button>
              </form>
            </section>
            <section class="card" aria-label="anonymous access">
              <h2>Anonymous access</h2>
              <p id="anonymous">
                ${
                  store.anonymous === undefined
                    ? "follows the bind address's default"
                    : store.anonymous === false
                      ? "off: credentials required"
                      : `roles: ${store.anonymous.roles.join(", ")}`
                }
              </p>
            </section>`
        : null
    }`;
}
