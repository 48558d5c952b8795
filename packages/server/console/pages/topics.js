// Topic tree browser: the topics a selector names (fetch, then select + value streams so values and
// new topics arrive live), as a tree with types and values, and a value editor (session.set).
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorBox, VALUE_TYPES, editableText, formatValue, html, parseValue } from "../lib.js";

const PAGE = 1000;

/** Nested nodes from flat paths: { name, path, children: Map, topic }. */
function buildTree(topics) {
  const root = { name: "", path: "", children: new Map() };
  for (const topic of [...topics.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    let node = root;
    const parts = topic.path.split("/");
    parts.forEach((part, i) => {
      let child = node.children.get(part);
      if (!child) {
        child = { name: part, path: parts.slice(0, i + 1).join("/"), children: new Map() };
        node.children.set(part, child);
      }
      node = child;
    });
    node.topic = topic;
  }
  return root;
}

function Node({ node, depth, selected, onSelect }) {
  const { topic } = node;
  const row = topic
    ? html`<button
        class=${`topic ${selected === topic.path ? "selected" : ""}`}
        data-path=${topic.path}
        onClick=${() => onSelect(topic.path)}
      >
        <span class="name">${node.name}</span>
        <span class="type">${topic.type}</span>
        <span class="value">${formatValue(topic.type, topic.value)}</span>
      </button>`
    : html`<span class="branch">${node.name}</span>`;
  if (node.children.size === 0) return html`<li>${row}</li>`;
  return html`<li>
    <details open=${depth < 3}>
      <summary>${row}</summary>
      <ul>
        ${[...node.children.values()].map(
          (c) =>
            html`<${Node}
              key=${c.path}
              node=${c}
              depth=${depth + 1}
              selected=${selected}
              onSelect=${onSelect}
            />`,
        )}
      </ul>
    </details>
  </li>`;
}

/**
 * The selected topic's details and value editor. The page keys it by path, so another topic gets a
 * fresh editor; its text starts as the value when the topic was picked and is the user's from then on
 * (resetting it in an effect after the first render wiped what a quick user had typed).
 */
function Editor({ session, topic }) {
  const [text, setText] = useState(() => editableText(topic.type, topic.value));
  const [result, setResult] = useState(null);
  const editable = VALUE_TYPES.includes(topic.type);
  async function save(event) {
    event.preventDefault();
    setResult(null);
    try {
      await session.set(topic.path, topic.type, parseValue(topic.type, text));
      setResult({ ok: true });
    } catch (err) {
      setResult({ error: err });
    }
  }
  return html`<section class="card editor" aria-label="topic details">
    <h2>${topic.path}</h2>
    <dl>
      <dt>Type</dt>
      <dd id="topic-type">${topic.type}</dd>
      <dt>Value</dt>
      <dd id="topic-value">${formatValue(topic.type, topic.value)}</dd>
      <dt>Properties</dt>
      <dd><code>${JSON.stringify(topic.spec.properties ?? {})}</code></dd>
    </dl>
    ${
      editable
        ? html`<form onSubmit=${save}>
            <label
              >New value (${topic.type}${topic.type === "binary" ? ", hex" : ""})
              <textarea
                id="value-editor"
                rows=${topic.type === "json" ? 6 : 2}
                value=${text}
                onInput=${(e) => setText(e.target.value)}
              ></textarea>
            </label>
            <button type="submit">Set value</button>
            ${result?.ok ? html`<span class="ok" role="status">Value set.</span>` : null}
            <${ErrorBox} error=${result?.error} />
          </form>`
        : html`<p class="muted">Values of this type are not edited here.</p>`
    }
  </section>`;
}

export function Topics({ session }) {
  const [selector, setSelector] = useState("*.*");
  const [version, setVersion] = useState(0);
  const [selected, setSelected] = useState(null);
  const [error, setError] = useState(null);
  const [more, setMore] = useState(false);
  const topics = useRef(new Map());
  useEffect(() => {
    let stopped = false;
    let frame = 0;
    const changed = () => {
      if (frame || stopped) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        setVersion((v) => v + 1);
      });
    };
    topics.current = new Map();
    const streams = [];
    (async () => {
      try {
        setError(null);
        const page = await session.fetch(selector, { withValues: true, first: PAGE });
        if (stopped) return;
        for (const t of page.topics) topics.current.set(t.path, { ...t });
        setMore(page.hasMore);
        changed();
        for (const type of VALUE_TYPES) {
          streams.push(
            session.addStream(selector, type, {
              onSubscribe: (path, spec, value) => {
                topics.current.set(path, { path, spec, type, value });
                changed();
              },
              onValue: (path, spec, value) => {
                topics.current.set(path, { path, spec, type, value });
                changed();
              },
              onUnsubscribe: (path) => {
                topics.current.delete(path);
                changed();
              },
            }),
          );
        }
        await session.select(selector);
      } catch (err) {
        if (!stopped) setError(err);
      }
    })();
    return () => {
      stopped = true;
      cancelAnimationFrame(frame);
      for (const s of streams) s.close();
      void session.unselect(selector).catch(() => {});
    };
  }, [session, selector]);
  const tree = buildTree(topics.current);
  const topic = selected ? topics.current.get(selected) : undefined;
  return html`<form
      class="toolbar"
      onSubmit=${(e) => {
        e.preventDefault();
        setSelector(new FormData(e.target).get("selector"));
      }}
    >
      <label>Selector <input name="selector" value=${selector} /></label>
      <button type="submit">Show</button>
      <span class="muted" id="topic-count" data-version=${version}
        >${topics.current.size} topics${more ? ` (first ${PAGE} fetched)` : ""}</span
      >
    </form>
    <${ErrorBox} error=${error} />
    <div class="split">
      <ul class="tree" aria-label="topic tree">
        ${[...tree.children.values()].map(
          (c) =>
            html`<${Node} key=${c.path} node=${c} depth=${0} selected=${selected} onSelect=${setSelected} />`,
        )}
      </ul>
      ${topic ? html`<${Editor} key=${topic.path} session=${session} topic=${topic} />` : html`<p class="muted">Pick a topic to see and edit it.</p>`}
    </div>`;
}
