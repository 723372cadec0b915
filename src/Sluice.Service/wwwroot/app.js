// Sluice dashboard: the job list and a live job page, from the service's REST API (GET /api/jobs,
// GET /api/jobs/{id}, GET /api/jobs/{id}/events as server-sent events). No framework; uPlot draws the chart.
// The bearer token comes from the page's fragment (#token=…, kept out of server logs and history) or the
// token form, and stays in this tab's sessionStorage only.
"use strict";

const view = document.getElementById("view");
const tokenForm = document.getElementById("token-form");
const serverState = document.getElementById("server-state");
let stopLive = null;

function takeTokenFromFragment() {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem("sluice.token", decodeURIComponent(m[1]));
  const rest = location.hash.replace(/&token=[^&]*/, "").replace(/^#token=[^&]*&?/, "#");
  history.replaceState(null, "", rest === "#" ? location.pathname : location.pathname + rest);
}

function token() { return sessionStorage.getItem("sluice.token") || ""; }

async function api(path) {
  const res = await fetch(path, { headers: { Authorization: "Bearer " + token(), Accept: "application/json" } });
  if (res.status === 401) { askToken(); throw new Error("the server refused the token"); }
  if (!res.ok) throw new Error(`${path}: ${res.status} ${res.statusText}`);
  return res.json();
}

function askToken() {
  tokenForm.hidden = false;
  serverState.textContent = "a token is needed";
}

tokenForm.addEventListener("submit", e => {
  e.preventDefault();
  sessionStorage.setItem("sluice.token", document.getElementById("token-input").value.trim());
  tokenForm.hidden = true;
  route();
});

const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const num = n => (n ?? 0).toLocaleString("en-US");
function bytes(n) {
  n = n ?? 0;
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
}
function duration(s) {
  if (s == null || !isFinite(s)) return "–";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
  return h ? `${h}h ${m}m` : m ? `${m}m ${sec}s` : `${sec}s`;
}
const state = s => `<span class="state state-${esc(s)}">${esc(s)}</span>`;
const jobsOf = body => Array.isArray(body) ? body : [];
const snapshotOf = job => job.snapshot ?? null;
const operatorsOf = job => snapshotOf(job)?.operators ?? [];

async function showList() {
  const jobs = jobsOf(await api("/api/jobs"));
  serverState.textContent = `${jobs.length} job${jobs.length === 1 ? "" : "s"}`;
  view.innerHTML = `<h2>Jobs</h2>` + (jobs.length === 0 ? `<p class="muted">No job yet: submit one with <code>sluice submit job.yaml --server URL</code>.</p>` : `
    <table id="jobs"><thead><tr><th>job</th><th>name</th><th>state</th><th>submitted</th><th class="num">done</th></tr></thead><tbody>
    ${jobs.map(j => `<tr data-job="${esc(j.id)}"><td><a href="#/jobs/${encodeURIComponent(j.id)}">${esc(j.id)}</a></td><td>${esc(j.name)}</td>
      <td>${state(j.state)}</td><td>${esc(j.submitted ?? "")}</td>
      <td class="num">${j.progress?.percent != null ? j.progress.percent.toFixed(0) + " %" : "–"}</td></tr>`).join("")}
    </tbody></table>`);
  const timer = setTimeout(route, 2000);
  stopLive = () => clearTimeout(timer);
}

// One job page: cards, per-stage table, rows/s chart, scaling timeline, devices, errors. Live from /events.
function showJob(id) {
  const series = new Map(); // stage -> rows/s samples
  const times = [];
  const timeline = [];
  const lastScaling = new Map();
  const lastRows = new Map(); // stage -> [time, rows out] of the previous snapshot
  let plot = null;
  let chartStages = [];

  view.innerHTML = `<p><a href="#/">← all jobs</a></p><div id="job"><p class="muted">Loading job ${esc(id)}…</p></div>
    <section><h2>Rows per second</h2><div id="chart"></div></section>
    <section><h2>Scaling decisions</h2><ul id="timeline" class="timeline"><li class="muted">none yet</li></ul></section>`;

  function render(job) {
    const snap = snapshotOf(job) ?? {};
    const ops = operatorsOf(job);
    const pct = job.progress?.percent;
    const devices = snap.device_utilization ?? [];
    document.getElementById("job").innerHTML = `
      <h2>${esc(job.name ?? id)} ${state(job.state)}</h2>
      ${job.reason ? `<p class="muted" id="reason">${esc(job.reason)}</p>` : ""}
      <div class="cards">
        <div class="card">done<b id="percent">${pct != null ? pct.toFixed(1) + " %" : "–"}</b>
          <div class="progress"><div style="width:${Math.min(100, pct ?? 0)}%"></div></div></div>
        <div class="card">ETA<b id="eta">${duration(job.progress?.eta_seconds)}</b></div>
        <div class="card">rows written<b id="rows-written">${num(ops.length ? ops[ops.length - 1].rows_out : 0)}</b></div>
        <div class="card">blocks in flight<b>${bytes(snap.used_bytes)}</b><span class="muted">of ${bytes(snap.budget_bytes)}</span></div>
      </div>
      ${job.error ? `<div class="error" id="error">${esc(job.error)}</div>` : ""}
      <table id="stages"><thead><tr><th>stage</th><th>kind</th><th class="num">rows out</th><th class="num">rows/s</th><th class="num">tasks</th>
        <th class="num">queued</th><th class="num">held</th><th>actors ready/starting/idle</th><th>back-pressure</th></tr></thead><tbody>
      ${ops.map(o => `<tr data-stage="${esc(o.name)}"><td>${esc(o.name)}</td><td>${esc(o.kind)}</td>
        <td class="num rows">${num(o.rows_out)}</td><td class="num">${(o.rows_per_second ?? 0).toFixed(1)}</td>
        <td class="num">${num(o.tasks_running)} running, ${num(o.tasks_done)} done${o.task_retries ? `, ${num(o.task_retries)} retried` : ""}</td>
        <td class="num">${num(o.queued_blocks)} (${bytes(o.queued_bytes)})</td><td class="num">${bytes(o.output_bytes)}</td>
        <td>${o.kind === "actors" ? `${o.actors_ready}/${o.actors_starting}/${o.actors_idle}${o.target != null ? ` · target ${o.target}` : ""}` : "–"}</td>
        <td>${esc(o.back_pressure ?? "")}</td></tr>`).join("")}
      </tbody></table>
      ${Object.keys(snap.actors_per_node ?? {}).length ? `<section><h2>Nodes</h2><table id="nodes"><thead><tr><th>node</th><th class="num">actors</th></tr></thead><tbody>
        ${Object.entries(snap.actors_per_node).map(([node, n]) => `<tr><td>${esc(node)}</td><td class="num">${num(n)}</td></tr>`).join("")}
      </tbody></table></section>` : ""}
      ${devices.length ? `<section><h2>Devices</h2><table id="devices"><thead><tr><th>device</th><th>utilization</th></tr></thead><tbody>
        ${devices.map((u, i) => `<tr><td>${i}</td><td><span class="bar" style="width:${Math.round(u * 200)}px"></span> ${(u * 100).toFixed(0)} %</td></tr>`).join("")}
      </tbody></table></section>` : ""}`;

    // Chart: rows/s per stage over time, from the rows out between two snapshots.
    const now = Date.now() / 1000;
    times.push(now);
    for (const o of ops) {
      if (!series.has(o.name)) series.set(o.name, new Array(times.length - 1).fill(null));
      const prev = lastRows.get(o.name);
      lastRows.set(o.name, [now, o.rows_out ?? 0]);
      series.get(o.name).push(prev && now > prev[0] ? Math.max(0, ((o.rows_out ?? 0) - prev[1]) / (now - prev[0])) : null);
      if (o.last_scaling && lastScaling.get(o.name) !== o.last_scaling) {
        lastScaling.set(o.name, o.last_scaling);
        timeline.push(`${new Date().toLocaleTimeString()}  ${o.name}: ${o.last_scaling}`);
      }
    }
    for (const [, s] of series) while (s.length < times.length) s.push(null);
    drawChart();
    document.getElementById("timeline").innerHTML = timeline.length ? timeline.slice().reverse().map(t => `<li>${esc(t)}</li>`).join("") : `<li class="muted">none yet</li>`;
  }

  function drawChart() {
    const stages = [...series.keys()];
    const data = [times, ...stages.map(s => series.get(s))];
    const el = document.getElementById("chart");
    if (!plot || stages.join() !== chartStages.join()) {
      plot?.destroy();
      chartStages = stages;
      const palette = ["#1d4ed8", "#15803d", "#b45309", "#7c3aed", "#be123c", "#0e7490"];
      plot = new uPlot({ width: Math.max(320, el.clientWidth || 900), height: 240,
        series: [{}, ...stages.map((s, i) => ({ label: s, stroke: palette[i % palette.length], width: 2 }))],
        scales: { y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [{}, { label: "rows/s" }] }, data, el);
    } else {
      plot.setData(data);
    }
  }

  const controller = new AbortController();
  stopLive = () => controller.abort();
  (async () => {
    try {
      render(await api(`/api/jobs/${encodeURIComponent(id)}`));
      await follow(`/api/jobs/${encodeURIComponent(id)}/events`, controller.signal, render);
      render(await api(`/api/jobs/${encodeURIComponent(id)}`)); // the final record, with final stats
    } catch (e) {
      if (!controller.signal.aborted) document.getElementById("job").insertAdjacentHTML("beforeend", `<div class="error">${esc(e.message)}</div>`);
    }
  })();
}

// Server-sent events over fetch (EventSource cannot send an Authorization header).
async function follow(path, signal, onSnapshot) {
  const res = await fetch(path, { headers: { Authorization: "Bearer " + token(), Accept: "text/event-stream" }, signal });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const message = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message", data = "";
      for (const line of message.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (event === "end") return;
      if (data) onSnapshot(JSON.parse(data));
    }
  }
}

function route() {
  stopLive?.();
  stopLive = null;
  const m = /^#\/jobs\/(.+)$/.exec(location.hash);
  const show = m ? () => showJob(decodeURIComponent(m[1])) : showList;
  Promise.resolve().then(show).catch(e => { view.innerHTML = `<div class="error">${esc(e.message)}</div>`; });
}

takeTokenFromFragment();
window.addEventListener("hashchange", route);
route();
