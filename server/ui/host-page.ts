// One host: its live run (steps, progress bar and events, fed by the admin
// API's SSE stream through static/console.js), arming with a confirmation
// that names the disk, the boot trace as a timeline, its runs and images.
import type { HostEntry } from "../hosts/index.ts";
import type { HostStatus } from "../http/views.ts";
import type { RunFacts } from "../policy/state-machine.ts";
import type { TraceEntry } from "../state/observations.ts";
import type { SysImage } from "../sysimgs/store.ts";
import { formatProgress } from "../app/format.ts";
import { diskOf, type ArmChoice } from "./arm.ts";
import { badge, html, page, row, table, when, type Html, type PageOptions } from "./html.ts";

export interface HostView {
  host: HostEntry;
  status: HostStatus;
  runs: RunFacts[];
  trace: TraceEntry[];
  images: SysImage[];
  address?: string;
  choices: ArmChoice[];
  disarm: string;
}

function live(s: HostStatus): Html {
  const r = s.run;
  const p = r?.progress;
  return html`<section class="run" id="run" data-run="${r?.id ?? 0}">
    <h2>
      Run <span id="run-title">${r ? `#${r.id} ${r.action}, phase ${r.phase}` : "(none yet)"}</span>
    </h2>
    <p>
      <span id="run-status">${r?.status ?? "-"}</span> · step
      <strong id="run-step">${r?.step ?? "-"}</strong>
      <span id="run-pct">${formatProgress(p)}</span>
    </p>
    <progress id="run-bar" max="${p?.total ?? 1}" value="${p?.total ? p.done : 0}"></progress>
    <div id="failure" class="failure" ${r?.failure ? "" : html`hidden`}>
      <strong>Failed:</strong>
      <pre id="failure-text">${r?.failure ?? ""}</pre>
    </div>
    <ol id="steps" class="steps"></ol>
  </section>`;
}

function arm(v: HostView): Html {
  return html`<section class="arm">
    <h2>Next boot</h2>
    <form id="arm-form" data-host="${v.host.name}">
      <select id="arm-action" name="action">
        ${v.choices.map(
          (c) => html`<option value="${c.action}" data-confirm="${c.confirm}">${c.label}</option>`,
        )}
      </select>
      <button type="submit" id="arm">Arm…</button>
      <button type="button" id="disarm" data-confirm="${v.disarm}">Disarm…</button>
    </form>
    <p id="arm-result" role="status"></p>
    <dialog id="confirm">
      <form method="dialog">
        <p id="confirm-text"></p>
        <button value="cancel">Cancel</button>
        <button value="ok" id="confirm-ok" class="danger">Confirm</button>
      </form>
    </dialog>
  </section>`;
}

function detail(d: Record<string, unknown> | undefined): string {
  if (!d) return "";
  return Object.entries(d)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}

function timeline(trace: TraceEntry[]): Html {
  if (trace.length === 0) return html`<p>No boot activity seen for this host.</p>`;
  return html`<ol class="timeline">
    ${trace.map(
      (e) =>
        html`<li class="src-${e.source}">
          <time>${when(e.time)}</time><span class="src">${e.source}</span>
          <span class="what">${e.what}</span> <span class="mono dim">${e.mac}</span>
          <span class="detail">${detail(e.detail)}</span>
        </li>`,
    )}
  </ol>`;
}

/** One row per run; static/console.js rewrites the body from the admin API as runs move. */
function runsTable(runs: RunFacts[]): Html {
  return table(
    ["Run", "Action", "Status", "Started", "Ended", "Failure"],
    runs.map((r) =>
      row([
        `#${r.id}`,
        r.action,
        badge(r.status),
        when(r.startedAt),
        when(r.endedAt),
        html`<pre class="inline">${r.failure ?? ""}</pre>`,
      ]),
    ),
    { bodyId: "runs" },
  );
}

export function imagesTable(images: SysImage[]): Html {
  if (images.length === 0)
    return html`<p>No system images (arm <code>capture</code> on an installed host).</p>`;
  return table(
    ["Name", "Host", "Created", "MiB", "SHA-256"],
    images.map((i) =>
      row([
        i.name,
        i.host,
        when(i.created),
        (i.bytes / 2 ** 20).toFixed(1),
        html`<span class="mono">${i.sha256.slice(0, 16)}…</span>`,
      ]),
    ),
  );
}

export function hostPage(v: HostView, o: Omit<PageOptions, "title" | "nav">): string {
  const h = v.host;
  const s = v.status;
  return page(
    { ...o, title: h.name, nav: "hosts" },
    html`<div id="host" data-host="${h.name}">
      <h1>${h.name} ${badge(s.state)}</h1>
      ${s.note ? html`<p class="note">${s.note}</p>` : ""}
      <dl class="facts">
        <dt>MACs</dt>
        <dd class="mono">${h.macs.join(" ")}</dd>
        <dt>Address</dt>
        <dd>${v.address ?? "-"}</dd>
        <dt>Firmware</dt>
        <dd>${h.firmware}</dd>
        <dt>Target</dt>
        <dd>${diskOf(h)}, layout ${h.raw?.layout?.mode ?? "-"}</dd>
        <dt>Host file</dt>
        <dd class="mono">${h.file}</dd>
      </dl>
      ${arm(v)} ${live(s)}
      <section>
        <h2>Events</h2>
        ${table(["Time", "Phase", "Kind", "Step", "Message"], [], { cls: "events", bodyId: "events" })}
      </section>
      <section>
        <h2>Boot trace</h2>
        ${timeline(v.trace)}
      </section>
      <section>
        <h2>Runs</h2>
        ${runsTable(v.runs)}
      </section>
      <section>
        <h2>System images of ${h.name}</h2>
        ${imagesTable(v.images)}
      </section>
    </div>`,
  );
}
