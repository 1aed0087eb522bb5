// The console's only script: no framework, no build, nothing from the
// network but this server's admin API. It follows a host's run over the
// API's SSE stream (steps, progress bar, events), arms and disarms through
// POST /api/v1/admin/hosts/:name/next after a confirmation, and keeps the
// state cells of the hosts page fresh. Every change carries the page's CSRF
// value (server/ui/session.ts); text goes in with textContent, never HTML.
/* global document, fetch, EventSource, CSS, setTimeout, clearTimeout, setInterval */
"use strict";

const CSRF_HEADER = "x-automagic-csrf";
const MAX_EVENT_ROWS = 500;
const EVENTS_PAGE = 1000; // server/state/store.ts hostEvents' limit

function api(path, init) {
  const headers = { accept: "application/json", [CSRF_HEADER]: document.body.dataset.csrf || "" };
  if (init && init.body) headers["content-type"] = "application/json";
  return fetch(path, { credentials: "same-origin", ...init, headers }).then(async (r) => {
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
    return body;
  });
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function setBadge(node, state) {
  if (!node) return;
  node.textContent = state;
  node.className = `badge ${state.split(":")[0]}`;
}

function pct(p) {
  if (!p) return "";
  if (p.total) return `${Math.floor((100 * p.done) / p.total)}%`;
  return `${p.done}${p.unit ? ` ${p.unit}` : ""}`;
}

/** "2026-12-07 15:04:12Z", as the server renders times (server/ui/html.ts when). */
function when(ms) {
  return ms === undefined ? "-" : `${new Date(ms).toISOString().replace("T", " ").slice(0, 19)}Z`;
}

function runSummary(s) {
  const r = s.run;
  if (!r) return "-";
  const step = r.step ? ` · ${r.step}` : "";
  const p = pct(r.progress);
  return `#${r.id} ${r.action} ${r.status}${step}${p ? ` ${p}` : ""}`;
}

/** Hosts page: the state and run cells, every few seconds. */
function followHosts(table) {
  const refresh = () =>
    api("/api/v1/admin/hosts").then(
      (rows) => {
        for (const s of rows) {
          const tr = table.querySelector(`tr[data-host="${CSS.escape(s.host)}"]`);
          if (!tr) continue;
          setBadge(tr.querySelector("[data-state]"), s.state);
          tr.querySelector("[data-run]").textContent = runSummary(s);
          tr.querySelector("[data-last]").textContent =
            s.run && s.run.lastEventAt ? s.run.lastEventAt : "-";
        }
      },
      () => undefined,
    );
  setInterval(refresh, 5000);
}

/** One host's page: live run, events, arming. */
function followHost(root) {
  const name = root.dataset.host;
  const base = `/api/v1/admin/hosts/${encodeURIComponent(name)}`;
  const $ = (id) => document.getElementById(id);
  let runId = Number($("run").dataset.run) || 0;
  let steps = new Map();
  let current;

  function resetRun(id) {
    runId = id;
    steps = new Map();
    current = undefined;
    $("steps").replaceChildren();
    $("events").replaceChildren();
    $("failure").hidden = true;
    setBar(undefined);
  }

  function setBar(p) {
    const bar = $("run-bar");
    if (p && p.total) {
      bar.max = p.total;
      bar.value = p.done;
    } else if (p) {
      bar.removeAttribute("value"); // indeterminate: a count without a total
    } else {
      bar.max = 1;
      bar.value = 0;
    }
    $("run-pct").textContent = pct(p);
  }

  function step(e) {
    const key = `${e.phase}:${e.step}`;
    let li = steps.get(key);
    if (!li) {
      li = el("li", "pending");
      li.dataset.step = e.step;
      li.append(
        el("span", "name", e.phase === 2 ? `${e.step} (phase 2)` : e.step),
        el("span", "st"),
      );
      $("steps").append(li);
      steps.set(key, li);
    }
    return li;
  }

  function mark(li, state, note) {
    li.className = state;
    li.querySelector(".st").textContent = note || state;
  }

  function eventRow(e) {
    const tr = el("tr", `k-${e.kind}`);
    let msg = e.message || "";
    if (e.progress) msg = `${pct(e.progress)} ${msg}`.trim();
    const t = String(e.time).slice(11, 23); // HH:MM:SS.mmm (UTC), the date is the run's
    for (const v of [t, `p${e.phase}`, e.kind, e.step || "", msg]) tr.append(el("td", "", v));
    const body = $("events");
    body.append(tr);
    while (body.childElementCount > MAX_EVENT_ROWS) body.firstElementChild.remove();
  }

  function onEvent(stored) {
    if (stored.runId < runId) return; // an older run of this host: replayed, not shown
    if (stored.runId > runId) resetRun(stored.runId);
    const e = stored.event;
    eventRow(e);
    if (e.step && ["step-start", "progress", "step-end", "step-fail"].includes(e.kind)) {
      const li = step(e);
      if (e.kind === "step-start" || e.kind === "progress") {
        if (current !== li) setBar(undefined);
        current = li;
        mark(li, "running", e.progress ? pct(e.progress) : "running");
        $("run-step").textContent = e.step;
        if (e.progress) setBar(e.progress);
      } else if (e.kind === "step-end") {
        mark(li, "done");
        if (current === li) setBar({ done: 1, total: 1 });
      } else {
        mark(li, "failed"); // the reason comes with the refresh: the server's words
      }
    }
    if (e.kind === "run-done") $("run-status").textContent = "done";
    refreshSoon();
  }

  let timer;
  function refreshSoon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }
  function refresh() {
    return api(base).then(
      (s) => {
        setBadge(root.querySelector("h1 [data-state]"), s.state);
        const r = s.run;
        if (!r) return;
        if (r.id > runId) resetRun(r.id);
        $("run-title").textContent = `#${r.id} ${r.action}, phase ${r.phase}`;
        $("run-status").textContent = r.status;
        if (r.failure) {
          $("failure-text").textContent = r.failure; // the server's words (store: describeFailure)
          $("failure").hidden = false;
        }
        if (s.runs) runRows(s.runs);
      },
      () => undefined,
    );
  }

  function runRows(runs) {
    $("runs").replaceChildren(
      ...runs.map((r) => {
        const tr = el("tr");
        const status = el("span", "", r.status);
        setBadge(status, r.status);
        const failure = el("pre", "inline", r.failure || "");
        for (const v of [
          `#${r.id}`,
          r.action,
          status,
          when(r.startedAt),
          when(r.endedAt),
          failure,
        ]) {
          const td = el("td");
          td.append(v); // a string goes in as text
          tr.append(td);
        }
        return tr;
      }),
    );
  }
  setInterval(refresh, 5000);

  // What is stored first, in pages (the API answers at most EVENTS_PAGE a
  // call, and the stream replays one page per wake), then the stream from
  // the last one seen; EventSource resumes from Last-Event-ID by itself.
  const live = el("span", "live", "connecting…");
  root.querySelector("h1").append(live);
  async function backlog() {
    let after = 0;
    for (;;) {
      const page = await api(`${base}/events?after=${after}`);
      for (const stored of page) onEvent(stored);
      if (page.length) after = page[page.length - 1].id;
      if (page.length < EVENTS_PAGE) return after;
    }
  }
  function follow(after) {
    const es = new EventSource(`${base}/events?follow=1&after=${after}`);
    es.addEventListener("open", () => (live.textContent = "live"));
    // A refusal (a 401 once the session is over) ends the stream for good.
    es.addEventListener("error", () => {
      live.textContent =
        es.readyState === EventSource.CLOSED ? "stopped: reload the page" : "reconnecting…";
    });
    es.addEventListener("run-event", (m) => onEvent(JSON.parse(m.data)));
  }
  backlog().then(follow, (err) => (live.textContent = `events: ${err.message}`));

  // Arming: the dialog names what the next netboot does to which disk.
  const dialog = $("confirm");
  let pending;
  function ask(action, text) {
    pending = action;
    $("confirm-text").textContent = text;
    dialog.returnValue = "";
    dialog.showModal();
  }
  $("arm-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const opt = $("arm-action").selectedOptions[0];
    ask(opt.value, opt.dataset.confirm);
  });
  $("disarm").addEventListener("click", (ev) => ask("local", ev.currentTarget.dataset.confirm));
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "ok" || !pending) return;
    const action = pending;
    pending = undefined;
    const out = $("arm-result");
    out.className = "";
    out.textContent = `${action === "local" ? "disarming" : `arming ${action}`}…`;
    api(`${base}/next`, { method: "POST", body: JSON.stringify({ action }) }).then(
      (s) => {
        out.textContent = `${name}: ${s.state}${s.cancelledRun ? ` (run #${s.cancelledRun} cancelled)` : ""}`;
        refresh();
      },
      (err) => {
        out.className = "failure";
        out.textContent = err.message;
      },
    );
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const table = document.querySelector("table[data-live=hosts]");
  if (table) followHosts(table);
  const host = document.getElementById("host");
  if (host) followHost(host);
});
