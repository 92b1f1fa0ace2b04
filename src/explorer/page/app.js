// esocc explorer: the catalogue view (#/), and an entry's path view (#/NAME/0.2.1: the choices
// made so far, each an index among the actions enabled at that step). Data comes from the JSON
// API, or, in a static copy (esocc check --html), from the JSON embedded in the page.
"use strict";

const STATIC = JSON.parse(document.getElementById("static-data").textContent);
const main = document.getElementById("main");
const where = document.getElementById("where");
let timer = null;
// Bumped on every navigation: an answer that arrives for an older view is dropped.
let generation = 0;
// The longest path seen that extends the current one: what "Forward" walks along.
let longest = { entry: null, path: [] };
// The step whose state is shown (null: the last).
let selected = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function pathKey(name, path) {
  return name + "/" + path.join(".");
}

function pathHash(name, path) {
  return "#/" + encodeURIComponent(name) + "/" + path.join(".");
}

async function api(url) {
  if (STATIC) return staticAnswer(url);
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// The static copy's answer for an API URL.
function staticAnswer(url) {
  const [route, query] = url.split("?");
  const parts = route.split("/").map(decodeURIComponent);
  if (route === "/api/catalogue") return STATIC.catalogue;
  const entry = STATIC.catalogue.find((e) => e.name === parts[3]);
  if (!entry) throw new Error("no catalogue entry " + JSON.stringify(parts[3]));
  if (parts.length === 4) return entry;
  const path = new URLSearchParams(query).get("p") || "";
  const key = entry.name + "/" + path;
  if (STATIC.paths[key]) return STATIC.paths[key];
  if (STATIC.pages[key] && !location.pathname.endsWith("/" + STATIC.pages[key])) {
    location.href = STATIC.pages[key] + "#/" + encodeURIComponent(entry.name) + "/" + path;
  }
  throw new Error("this static page holds only its counterexample's steps; `esocc explore` follows any path");
}

function route() {
  clearTimeout(timer);
  generation += 1;
  const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
  if (!hash) return showCatalogue();
  const slash = hash.indexOf("/");
  const name = slash < 0 ? hash : hash.slice(0, slash);
  const text = slash < 0 ? "" : hash.slice(slash + 1);
  const path = text === "" ? [] : text.split(".").map(Number);
  if (path.some((n) => !Number.isInteger(n) || n < 0)) {
    return fail(new Error("a path is action indices separated by dots (0.2.1), not " + JSON.stringify(text)));
  }
  showEntry(name, path);
}

function fail(error) {
  main.replaceChildren(el("p", { class: "error" }, error.message));
}

// ---- verdicts ------------------------------------------------------------------------------

const VERDICT_TEXT = {
  holds: "holds",
  counterexample: "counterexample",
  unproven: "unproven",
  reachable: "reachable",
  unreachable: "unreachable",
};

function verdictBadge(verdict) {
  return el("span", { class: "badge " + (verdict || "unknown") }, verdict ? VERDICT_TEXT[verdict] : "not yet known");
}

function statusLine(status) {
  switch (status.state) {
    case "queued":
      return el("span", { class: "badge queued" }, "queued for checking");
    case "running": {
      const p = status.progress;
      const phase = p.phase === "shortest" ? "searching shortest counterexamples" : "checking";
      return el("span", { class: "badge running" },
        `${phase}: ${p.states} states, ${p.unique_states} unique, depth ${p.max_depth}`);
    }
    case "done": {
      const mismatches = status.properties.filter((p) => !p.matches).length;
      return el("span", {},
        el("span", { class: "badge " + (status.matches ? "ok" : "mismatch") },
          status.matches ? "all as expected" : `${mismatches} MISMATCH`),
        ` ${status.unique_states} unique states (${status.states} generated), depth ${status.max_depth}, ${status.seconds.toFixed(3)} s`);
    }
    default:
      return el("span", { class: "badge mismatch" }, status.error);
  }
}

function counterexampleLink(entry, p) {
  if (!p.path) return null;
  return el("a", { href: pathHash(entry.name, p.path), class: "cx" },
    `shortest counterexample (${p.depth} step${p.depth === 1 ? "" : "s"})`);
}

// ---- catalogue view --------------------------------------------------------------------------

function parameters(entry) {
  return Object.entries(entry.parameters).map(([k, v]) => `${k}=${v}`).join(" ");
}

async function showCatalogue() {
  const current = generation;
  let entries;
  try {
    entries = await api("/api/catalogue");
  } catch (e) {
    return current === generation && fail(e);
  }
  if (current !== generation) return;
  where.textContent = "catalogue";
  if (entries.length === 1 && !STATIC) {
    location.replace(pathHash(entries[0].name, []));
    return;
  }
  const rows = entries.map((entry) => {
    const status = entry.status;
    const verdicts = status.state === "done" ? status.properties : [];
    const refuted = verdicts.filter((p) => p.verdict === "counterexample");
    const details = el("details", {},
      el("summary", {}, `${Object.keys(entry.expect).length} expected verdicts`),
      el("table", {},
        el("tr", {}, el("th", {}, "property"), el("th", {}, "expected"), el("th", {}, "verdict")),
        Object.entries(entry.expect).map(([property, expected]) => {
          const found = verdicts.find((p) => p.property === property);
          return el("tr", {}, el("td", { class: "mono" }, property), el("td", {}, expected),
            el("td", {}, verdictBadge(found && found.verdict)));
        })));
    return el("tr", { "data-entry": entry.name },
      el("td", {}, el("a", { href: pathHash(entry.name, []), class: "entry" }, entry.name),
        el("div", { class: "muted" }, entry.description)),
      el("td", {}, entry.model),
      el("td", { class: "mono" }, parameters(entry)),
      el("td", { class: "status" }, statusLine(status), details),
      el("td", {}, refuted.length === 0 ? el("span", { class: "muted" }, status.state === "done" ? "none" : "")
        : refuted.map((p) => el("div", {}, el("code", {}, p.property), " ", counterexampleLink(entry, p)))));
  });
  main.replaceChildren(
    el("h1", {}, `Catalogue: ${entries.length} entries`),
    el("p", { class: "muted" }, "Every entry is model-checked in the background, exactly as `esocc check` does (symmetry reduction, shortest counterexamples). Open an entry to walk its model step by step."),
    el("table", { class: "catalogue" },
      el("tr", {}, ["entry", "model", "parameters", "check", "counterexamples"].map((h) => el("th", {}, h))),
      rows));
  if (!STATIC && entries.some((e) => e.status.state !== "done" && e.status.state !== "failed")) {
    timer = setTimeout(route, 1000);
  }
}

// ---- entry view ------------------------------------------------------------------------------

async function showEntry(name, path) {
  const current = generation;
  let entry, view;
  try {
    [entry, view] = await Promise.all([
      api("/api/entries/" + encodeURIComponent(name)),
      api(`/api/entries/${encodeURIComponent(name)}/path?p=${path.join(".")}`),
    ]);
  } catch (e) {
    return current === generation && fail(e);
  }
  if (current !== generation) return;
  where.textContent = `${entry.name} (${entry.model})`;
  const extends_ = longest.entry === name && path.every((c, i) => longest.path[i] === c)
    && longest.path.length >= path.length;
  if (!extends_) longest = { entry: name, path: path.slice() };
  const step = selected === null || selected > view.steps.length ? view.steps.length : selected;
  render(entry, view, step);
  if (!STATIC && entry.status.state !== "done" && entry.status.state !== "failed") {
    timer = setTimeout(() => refreshVerdicts(entry.name, view), 500);
  }
}

// While the check runs, only the verdict panel is refreshed.
async function refreshVerdicts(name, view) {
  const current = generation;
  let entry;
  try {
    entry = await api("/api/entries/" + encodeURIComponent(name));
  } catch (e) {
    return current === generation && fail(e);
  }
  if (current !== generation) return;
  const panel = document.getElementById("verdicts");
  if (!panel) return;
  panel.replaceWith(verdictPanel(entry, view));
  document.getElementById("status").replaceChildren(statusLine(entry.status));
  if (entry.status.state !== "done" && entry.status.state !== "failed") {
    timer = setTimeout(() => refreshVerdicts(name, view), 500);
  }
}

function go(path) {
  selected = null;
  location.hash = pathHash(longest.entry, path);
}

function render(entry, view, step) {
  const path = view.path;
  const name = entry.name;
  const back = el("button", { id: "back", disabled: path.length === 0 ? "" : null, onclick: () => go(path.slice(0, -1)) }, "◀ Back");
  const forward = el("button", {
    id: "forward",
    disabled: longest.path.length > path.length ? null : "",
    onclick: () => go(longest.path.slice(0, path.length + 1)),
  }, "Forward ▶");
  const failing = (k) => view.properties.filter((p) => !p.goal && p.at === k);
  const stepItem = (k, number, text, changes) => el("li", {
    class: "step" + (k === step ? " selected" : ""),
    "data-step": k,
    onclick: () => { selected = k; render(entry, view, k); },
  },
  el("span", { class: "number" }, number), " ", el("span", { class: "step-text" }, text),
  changes.map((line) => el("div", { class: "change" }, line)),
  failing(k).map((p) => el("div", { class: "violates" }, `violates ${p.property}: ${p.explanation}`)));
  const steps = el("ol", { class: "steps", id: "steps" },
    stepItem(0, "", "initial state", view.states[0].copies.map((c) => `${c.copy}: ` +
      c.docs.map(docText).join("; "))),
    view.steps.map((s) => stepItem(s.number, s.number + ".", s.text, changeLines(s.changes))));
  const next = view.next.length === 0
    ? el("p", { class: "muted", id: "next" }, "No action is enabled: the run has ended.")
    : el("ul", { class: "choices", id: "next" }, view.next.map((c) => {
      const to = path.concat([c.index]);
      // A static copy holds only its counterexamples' paths: the other actions are shown, not linked.
      const held = !STATIC || STATIC.paths[pathKey(name, to)] || STATIC.pages[pathKey(name, to)];
      return el("li", {}, held
        ? el("a", { class: "choice", href: pathHash(name, to), onclick: () => { selected = null; } }, c.text)
        : el("span", { class: "choice off", title: "esocc explore follows this action" }, c.text));
    }));
  main.replaceChildren(
    el("h1", {}, entry.name),
    el("p", { class: "muted" }, entry.description),
    el("p", { class: "mono" }, `${entry.model}: ${parameters(entry)}`),
    el("p", { id: "status", class: "progress" }, statusLine(entry.status)),
    el("div", { class: "columns" },
      el("div", {},
        el("h2", {}, `Path: ${path.length} step${path.length === 1 ? "" : "s"}`),
        el("div", { class: "nav" }, back, forward,
          el("a", { href: pathHash(name, path), id: "permalink" }, "link to this path")),
        steps,
        el("h2", {}, `Next actions (${view.next.length})`),
        next),
      el("div", {},
        el("h2", { id: "state-title" }, step === 0 ? "State: initial" : `State after step ${step}`),
        stateView(view.states[step]),
        verdictPanel(entry, view))),
    el("h2", {}, "Sequence diagram"),
    diagram(view.diagram));
}

function diagram(svg) {
  const box = el("div", { class: "diagram", id: "diagram" });
  box.innerHTML = svg; // drawn by esocc's own SVG writer, text escaped there
  return box;
}

function docText(d) {
  if (!d.meta) return `doc ${d.id}: missing`;
  const m = d.meta;
  return `doc ${d.id}: _seq_no=${m.seq_no} _primary_term=${m.primary_term} _version=${m.version}${m.deleted ? " (deleted)" : ""} ${d.value}`;
}

function changeLines(changes) {
  return changes.flatMap((c) => (c.summary ? [`${c.copy}: ${c.summary}`] : []).concat(c.docs.map((d) => `${c.copy}: ${docText(d)}`)));
}

function verdictPanel(entry, view) {
  const known = entry.status.state === "done" ? entry.status.properties : [];
  const rows = view.properties.map((p) => {
    const verdict = known.find((k) => k.property === p.property);
    const expected = entry.expect[p.property];
    const onPath = p.at === null ? el("span", { class: "muted" }, p.goal ? "not reached" : "holds so far")
      : el("a", { href: "#", class: p.goal ? "reached" : "fails", onclick: (e) => { e.preventDefault(); selected = p.at; render(entry, view, p.at); } },
        p.goal ? `reached at step ${p.at}` : `fails at step ${p.at}`);
    return el("tr", { "data-property": p.property, class: verdict && !verdict.matches ? "mismatch" : null },
      el("td", { class: "mono", title: verdict ? verdict.statement : "" }, p.property),
      el("td", {}, expected || el("span", { class: "muted" }, "none")),
      el("td", {}, verdictBadge(verdict && verdict.verdict), " ", verdict && counterexampleLink(entry, verdict)),
      el("td", {}, onPath));
  });
  return el("div", { id: "verdicts" },
    el("h2", {}, "Properties"),
    el("table", {},
      el("tr", {}, ["property", "expected", "verdict", "on this path"].map((h) => el("th", {}, h))),
      rows));
}

function stateView(state) {
  const labels = [];
  for (const copy of state.copies) for (const f of copy.fields) if (!labels.includes(f.label)) labels.push(f.label);
  const ids = [];
  for (const copy of state.copies) for (const d of copy.docs) if (!ids.includes(d.id)) ids.push(d.id);
  const cell = (found) => el("td", { class: "value" + (found && found.changed ? " changed" : "") }, found ? found.text : "");
  const rows = labels.map((label) => el("tr", {}, el("th", {}, label), state.copies.map((c) => {
    const f = c.fields.find((x) => x.label === label);
    return cell(f && { text: f.value, changed: f.changed });
  })));
  for (const id of ids) {
    const docs = state.copies.map((c) => c.docs.find((d) => d.id === id));
    const row = (label, text) => el("tr", {}, el("th", {}, `doc ${id} ${label}`),
      docs.map((d) => cell(d && { text: text(d), changed: d.changed })));
    rows.push(row("_seq_no", (d) => (d.meta ? d.meta.seq_no : "missing")));
    rows.push(row("_primary_term", (d) => (d.meta ? d.meta.primary_term : "")));
    rows.push(row("_version", (d) => (d.meta ? d.meta.version : "")));
    rows.push(row("value", (d) => (d.meta && d.meta.deleted ? "tombstone" : d.value)));
  }
  const copies = el("table", { id: "copies" },
    el("tr", {}, el("th", {}, "copy"), state.copies.map((c) => el("th", {}, c.copy))), rows);
  const clientLabels = [];
  for (const c of state.clients) for (const f of c.fields) if (!clientLabels.includes(f.label)) clientLabels.push(f.label);
  const clients = state.clients.length === 0 ? null : el("table", { id: "clients" },
    el("tr", {}, el("th", {}, "client"), clientLabels.map((l) => el("th", {}, l))),
    state.clients.map((c) => el("tr", {}, el("th", {}, c.name), clientLabels.map((l) => {
      const f = c.fields.find((x) => x.label === l);
      return cell(f && { text: f.value, changed: f.changed });
    }))));
  const messages = state.messages.length === 0
    ? el("p", { class: "muted", id: "messages" }, "No message in flight.")
    : el("ul", { id: "messages" }, state.messages.map((m) =>
      el("li", { class: "message" + (m.new ? " new" : "") }, `${m.name}: ${m.fields.map((f) => f.value).join("; ")}`)));
  return el("div", { id: "state" },
    copies,
    el("h2", {}, "Clients"), clients || el("p", { class: "muted" }, "No clients."),
    el("h2", {}, `Messages in flight (${state.messages.length})`), messages,
    el("p", { class: "muted" }, "Highlighted: what the step into this state changed."));
}

window.addEventListener("hashchange", route);
route();
