// Continuity dashboard: the estate, active runs with a live timeline, history, reports, RTO/RPO chart.
// Plain JS, no build step. Every value from the API reaches the page through textContent or an
// attribute set by the DOM API (never parsed as HTML), so nothing it says is ever read as markup.
// The function key is asked once, kept in sessionStorage and sent as the x-functions-key header only.
"use strict";

const KEY_STORE = "continuity.functionKey";
const POLL_MS = 2000;
const SVG = "http://www.w3.org/2000/svg";
const ANSWERABLE = {
  approve: ["approval", "grace"],
  reject: ["approval", "grace"],
  cancel: ["approval", "grace", "confirmation"],
};
const state = { runs: [], status: null, filters: { operation: "", status: "" }, notes: {}, report: "" };

// ---- the DOM, safely -------------------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function byId(id) {
  return document.getElementById(id);
}

function plain(value) {
  if (value === null || value === undefined || value === "") return "-";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) return value.map(plain).join(", ") || "-";
  if (typeof value === "object") return Object.entries(value).map(([k, v]) => `${k}: ${plain(v)}`).join(", ");
  return String(value);
}

function utc(value) {
  const when = value ? new Date(value) : null;
  if (!when || isNaN(when)) return "-";
  return when.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}

function span(seconds) {
  if (seconds === null || seconds === undefined || isNaN(seconds)) return "-";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
  if (h) return `${h} h ${m} min`;
  return m ? `${m} min ${s} s` : `${s} s`;
}

function seconds(start, end) {
  const a = start ? Date.parse(start) : NaN;
  const b = end ? Date.parse(end) : Date.now();
  return isNaN(a) || isNaN(b) ? null : Math.max(0, (b - a) / 1000);
}

// ---- the API -----------------------------------------------------------------------------------------------
class Unauthorized extends Error {}

async function call(path, options) {
  const headers = { Accept: "application/json", ...(options && options.body ? { "Content-Type": "application/json" } : {}) };
  const key = sessionStorage.getItem(KEY_STORE);
  if (key) headers["x-functions-key"] = key;
  const response = await fetch(path, { ...options, headers, credentials: "same-origin", cache: "no-store" });
  if (response.status === 401) throw new Unauthorized("the key was refused");
  const type = response.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const said = body && typeof body === "object" ? body.reason || body.problem || body.error : body;
    throw new Error(`${response.status}: ${plain(said)}`);
  }
  return body;
}

function askForKey(problem) {
  byId("main").hidden = true;
  byId("key-form").hidden = false;
  byId("forget").hidden = true;
  byId("key-problem").textContent = problem || "";
  byId("connection").textContent = "needs a function key";
  byId("key").focus();
}

// ---- the estate ----------------------------------------------------------------------------------------------
function againstObjective(value, limit) {
  if (value === null || value === undefined) return el("span", { class: "warn" }, "not measured");
  const text = `${span(value)}` + (limit ? ` (objective ${span(limit)})` : "");
  return el("span", { class: limit && value > limit ? "bad" : "ok" }, text);
}

function runLine(run) {
  if (!run) return "never";
  return `${plain(run.status)} ${utc(run.started_at)} (${plain(run.run_id)})`;
}

function server(s) {
  return s ? `${plain(s.name)} ${plain(s.state)} in ${plain(s.location)}` : "-";
}

function readinessLine(found) {
  if (!found) return "not scored yet";
  const failing = (found.failing || []).map((c) => el("li", { class: "bad" }, `${plain(c.name)} ${plain(c.result)}: ${plain(c.reason)}`));
  return el("span", {}, el("strong", {}, `${plain(found.score)}/100`), ` at ${utc(found.observed_at)}`, el("ul", { class: "readiness" }, ...failing));
}

function renderEstate(status) {
  const o = status.objectives || {};
  const rpo = o.rpo_minutes != null ? o.rpo_minutes * 60 : null;
  const backupLimit = o.backup_age_alert_hours != null ? o.backup_age_alert_hours * 3600 : null;
  const servers = status.servers || {};
  const rows = [
    ["app", status.app],
    ["primary region", status.primary_region],
    ["primary server", server(servers.primary)],
    ["replica", server(servers.replica)],
    ["replica lag", againstObjective(status.replica_lag_seconds, rpo)],
    ["latest backup age", againstObjective(status.latest_backup_age_seconds, backupLimit)],
    ["live slot", `${plain(status.live_slot)} (${plain(status.origin_group)})`],
    ["live image", status.live_image],
    ["DR standby image", status.standby_image],
    ["last drill", runLine(status.last_drill)],
    ["last restore test", runLine(status.last_restore_test)],
    ["running", (status.running_operations || []).join(", ") || "nothing"],
    ["readiness", readinessLine(status.readiness)],
    ["RTO objective (tier 1)", o.rto_tier1_minutes != null ? `${o.rto_tier1_minutes} min` : "-"],
    ["RPO objective", o.rpo_minutes != null ? `${o.rpo_minutes} min` : "-"],
  ];
  byId("estate").replaceChildren(
    ...rows.map(([name, value]) =>
      el("div", { "data-field": name }, el("dt", {}, name), el("dd", {}, value instanceof Node ? value : plain(value)))
    )
  );
  byId("estate-errors").replaceChildren(
    ...Object.entries(status.errors || {}).map(([name, error]) => el("li", {}, `${name} could not be read: ${plain(error)}`))
  );
}

// ---- active runs ------------------------------------------------------------------------------------------------
function timeline(custom) {
  const steps = (custom.steps || []).filter((s) => s.started_at);
  const waits = (custom.waits || []).filter((w) => w.started_at);
  const pieces = [
    ...steps.map((s) => ({ kind: s.outcome, start: s.started_at, end: s.ended_at, label: `${s.name}: ${s.outcome}` })),
    ...waits.map((w) => ({ kind: "waiting", start: w.started_at, end: w.ended_at, label: `waiting for ${w.what}` })),
  ].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const total = pieces.reduce((sum, p) => sum + (seconds(p.start, p.end) || 0), 0) || 1;
  const bar = el("div", { class: "timeline", role: "img", "aria-label": "step timeline" });
  for (const p of pieces) {
    const took = seconds(p.start, p.end) || 0;
    const piece = el("span", { class: p.kind === "waiting" ? "waiting" : p.kind || "running", title: `${p.label} (${span(took)})` });
    piece.style.flexGrow = String(Math.max(took / total, 0.01));
    bar.append(piece);
  }
  const waited = waits.reduce((sum, w) => sum + (seconds(w.started_at, w.ended_at) || 0), 0);
  const ran = steps.reduce((sum, s) => sum + (seconds(s.started_at, s.ended_at) || 0), 0);
  const legend = el(
    "div",
    { class: "legend muted" },
    el("span", {}, el("i", { class: "running" }), `running ${span(ran)}`),
    el("span", {}, el("i", { class: "waiting" }), `waiting ${span(waited)}`),
    el("span", {}, el("i", { class: "succeeded" }), "done")
  );
  return [bar, legend];
}

function stepList(custom) {
  return el(
    "table",
    { class: "steps" },
    el("thead", {}, el("tr", {}, el("th", {}, "step"), el("th", {}, "outcome"), el("th", {}, "took"))),
    el(
      "tbody",
      {},
      (custom.steps || []).map((s) =>
        el("tr", {}, el("td", {}, s.name), el("td", {}, s.outcome), el("td", {}, s.ended_at ? span(seconds(s.started_at, s.ended_at)) : `running for ${span(seconds(s.started_at))}`))
      )
    )
  );
}

function answerControls(run, custom) {
  const allowed = Object.keys(ANSWERABLE).filter((a) => ANSWERABLE[a].includes(custom.awaiting));
  if (!allowed.length) return null;
  const note = el("input", {
    type: "text",
    placeholder: "a note is required (why; it goes in the report)",
    "aria-label": `note for ${run.id}`,
    "data-note": run.id,
    maxlength: 500,
  });
  note.value = state.notes[run.id] || "";
  const buttons = allowed.map((action) =>
    el("button", { type: "button", "data-action": action, "data-run": run.id, disabled: !note.value.trim(), onclick: () => answer(run.id, action) }, action)
  );
  note.addEventListener("input", () => {
    state.notes[run.id] = note.value;
    for (const b of buttons) b.disabled = !note.value.trim();
  });
  return el("div", { class: "answer" }, note, ...buttons, el("span", { class: "problem bad", "data-problem": run.id }));
}

async function answer(runId, action) {
  const note = (state.notes[runId] || "").trim();
  if (!note) return;
  const problem = document.querySelector(`[data-problem="${CSS.escape(runId)}"]`);
  try {
    await call(`runs/${encodeURIComponent(runId)}/${action}`, { method: "POST", body: JSON.stringify({ note }) });
    delete state.notes[runId];
    if (problem) problem.textContent = `${action} delivered`;
    await refresh();
  } catch (error) {
    if (error instanceof Unauthorized) return askForKey(error.message);
    if (problem) problem.textContent = error.message;
  }
}

function waitLine(custom) {
  if (!custom.awaiting) return el("p", { class: "muted" }, `running step ${plain(custom.step)}`);
  const left = custom.waiting_until ? seconds(new Date().toISOString(), custom.waiting_until) : null;
  const deadline = custom.waiting_until ? `, deadline ${utc(custom.waiting_until)} (in ${span(left)})` : "";
  return el("p", { class: "wait" }, `waiting for ${custom.awaiting}${deadline}`);
}

function runCard(run) {
  const custom = run.custom_status || {};
  return el(
    "article",
    { class: "run", "data-run": run.id },
    el("h3", {}, `${plain(run.id)} · ${plain(run.operation || custom.operation)} · ${plain(custom.status || run.runtime_status)}`),
    waitLine(custom),
    custom.reason
      ? el("p", {}, "last decision: ", el("strong", {}, plain(custom.last_decision)), " - ", el("span", { class: "reason" }, plain(custom.reason)))
      : null,
    ...timeline(custom),
    stepList(custom),
    answerControls(run, custom)
  );
}

const cards = new Map(); // run id -> {signature, node}: a card is rebuilt only when its run changed

function renderActive(views) {
  const active = views.filter((v) => ["Running", "Pending", "Suspended"].includes(v.runtime_status));
  byId("no-active").hidden = active.length > 0;
  const nodes = active.map((run) => {
    const signature = JSON.stringify([run.runtime_status, run.custom_status]);
    const known = cards.get(run.id);
    if (known && known.signature === signature) {
      known.node.querySelector(".wait, p.muted").replaceWith(waitLine(run.custom_status || {}));
      return known.node;
    }
    const node = runCard(run);
    cards.set(run.id, { signature, node });
    return node;
  });
  for (const id of [...cards.keys()]) if (!active.some((r) => r.id === id)) cards.delete(id);
  const container = byId("active");
  if (nodes.length !== container.children.length || nodes.some((n, i) => container.children[i] !== n)) {
    container.replaceChildren(...nodes);
  }
}

// ---- history, report, chart ---------------------------------------------------------------------------------------
function outcomeOf(run) {
  const output = run.output && typeof run.output === "object" ? run.output : {};
  const custom = run.custom_status || {};
  return { status: output.status || custom.status || run.runtime_status, summary: output.summary || custom.reason || "" };
}

function fillFilter(select, values, current) {
  const known = new Set([...select.options].map((o) => o.value));
  for (const value of values) if (value && !known.has(value)) select.append(el("option", { value }, value));
  select.value = current;
}

function renderHistory(views) {
  const f = state.filters;
  fillFilter(byId("filter-operation"), [...new Set(views.map((v) => v.operation || ""))].sort(), f.operation);
  fillFilter(byId("filter-status"), [...new Set(views.map((v) => outcomeOf(v).status || ""))].sort(), f.status);
  const shown = views.filter((v) => (!f.operation || v.operation === f.operation) && (!f.status || outcomeOf(v).status === f.status));
  byId("history").tBodies[0].replaceChildren(
    ...shown.map((run) => {
      const { status, summary } = outcomeOf(run);
      return el(
        "tr",
        { "data-run": run.id, tabindex: 0, onclick: () => showReport(run.id) },
        el("td", {}, plain(run.id)),
        el("td", {}, plain(run.operation)),
        el("td", { class: /succeeded|dry-run|stood-down/.test(status) ? "ok" : /running|Running|Pending/.test(status) ? "" : "bad" }, plain(status)),
        el("td", {}, utc(run.created)),
        el("td", {}, plain(summary))
      );
    })
  );
}

async function showReport(runId) {
  byId("report-section").hidden = false;
  byId("report-id").textContent = runId;
  byId("report").textContent = "loading…";
  try {
    byId("report").textContent = await call(`runs/${encodeURIComponent(runId)}/report?format=markdown`);
  } catch (error) {
    if (error instanceof Unauthorized) return askForKey(error.message);
    byId("report").textContent = `no report: ${error.message}`;
  }
}

function achieved(run) {
  const m = (run.output && run.output.measurements) || {};
  const rto = m.drill_rto_seconds ?? m.rto_seconds;
  const rpo = m.drill_rpo_seconds ?? m.rpo_seconds;
  return typeof rto === "number" || typeof rpo === "number" ? { id: run.id, rto, rpo } : null;
}

function renderChart(views, status) {
  const o = (status && status.objectives) || {};
  const rtoGoal = o.rto_tier1_minutes != null ? o.rto_tier1_minutes * 60 : null;
  const rpoGoal = o.rpo_minutes != null ? o.rpo_minutes * 60 : null;
  const points = views.map(achieved).filter(Boolean).reverse().slice(-20);
  const chart = byId("chart");
  if (!points.length) {
    chart.replaceChildren(el("p", { class: "muted" }, "No run has measured RTO or RPO yet."));
    return;
  }
  const width = 720, height = 200, pad = 30, slot = (width - pad) / points.length;
  // The scale fits the measured values; an objective far above them is named instead of drawn.
  const measured = Math.max(...points.flatMap((p) => [p.rto || 0, p.rpo || 0])) || 1;
  const top = Math.max(measured * 1.25, ...[rtoGoal, rpoGoal].filter((g) => g && g <= measured * 4));
  const y = (v) => height - pad - (v / top) * (height - 2 * pad);
  const drawing = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": "RTO and RPO per run" });
  points.forEach((p, i) => {
    const x = pad + i * slot;
    for (const [kind, value, goal, offset] of [["rto", p.rto, rtoGoal, 0.15], ["rpo", p.rpo, rpoGoal, 0.5]]) {
      if (typeof value !== "number") continue;
      const bar = svg("rect", { class: goal && value > goal ? "over" : kind, x: x + slot * offset, y: y(value), width: slot * 0.33, height: Math.max(1, height - pad - y(value)) });
      bar.append(svg("title", {}, `${p.id}: ${kind.toUpperCase()} ${span(value)}` + (goal ? ` (objective ${span(goal)})` : "")));
      drawing.append(bar);
    }
  });
  const offScale = [];
  for (const [goal, label] of [[rtoGoal, "RTO objective"], [rpoGoal, "RPO objective"]]) {
    if (!goal) continue;
    if (goal > top) {
      offScale.push(`${label} ${span(goal)} (above every run shown)`);
      continue;
    }
    drawing.append(svg("line", { class: "objective", x1: pad, x2: width, y1: y(goal), y2: y(goal) }));
    drawing.append(svg("text", { x: pad + 4, y: y(goal) - 4 }, `${label} ${span(goal)}`));
  }
  drawing.append(svg("text", { x: 2, y: pad - 6 }, span(top)));
  drawing.append(svg("text", { x: 2, y: height - pad + 14 }, "0"));
  const legend = el("p", { class: "legend muted" }, el("span", {}, el("i", { class: "running" }), "RTO"), el("span", {}, el("i", { class: "waiting" }), "RPO"), "red: over its objective. ", offScale.join("; "));
  chart.replaceChildren(drawing, legend);
}

// ---- the loop -----------------------------------------------------------------------------------------------------
async function refresh() {
  try {
    const [status, runs] = await Promise.all([call("status"), call("runs?limit=100")]);
    state.status = status;
    state.runs = runs.runs || [];
    byId("key-form").hidden = true;
    byId("main").hidden = false;
    byId("forget").hidden = !sessionStorage.getItem(KEY_STORE);
    byId("connection").textContent = "connected";
    byId("updated").textContent = `updated ${utc(new Date().toISOString())}`;
    renderEstate(status);
    renderActive(state.runs);
    renderHistory(state.runs);
    renderChart(state.runs, status);
  } catch (error) {
    if (error instanceof Unauthorized) return askForKey(sessionStorage.getItem(KEY_STORE) ? "that key was refused" : "");
    byId("connection").textContent = `API unavailable: ${error.message}`;
  }
}

function start() {
  byId("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = byId("key").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORE, key);
    byId("key").value = "";
    refresh();
  });
  byId("forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORE);
    askForKey("");
  });
  for (const [id, name] of [["filter-operation", "operation"], ["filter-status", "status"]]) {
    byId(id).addEventListener("change", (event) => {
      state.filters[name] = event.target.value;
      renderHistory(state.runs);
    });
  }
  refresh();
  setInterval(() => {
    if (byId("key-form").hidden || sessionStorage.getItem(KEY_STORE)) refresh();
  }, POLL_MS);
}

document.addEventListener("DOMContentLoaded", start);
