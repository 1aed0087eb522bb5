// The hosts page: one row per host file with its state, last run, captured
// image, address and MACs. The page's script refreshes the state and run
// cells from GET /api/v1/admin/hosts.
import type { HostStatus } from "../http/views.ts";
import { formatProgress } from "../app/format.ts";
import { badge, html, page, table, when, type Html, type PageOptions } from "./html.ts";

export interface HostRow {
  status: HostStatus;
  /** Our lease, else the address it last talked to us from (views.ts inventory). */
  address?: string;
  /** The newest system image captured from this host. */
  image?: string;
}

/** "#12 install running · fetch-verify 45%" */
export function runSummary(s: HostStatus): string {
  const r = s.run;
  if (!r) return "-";
  const step = r.step ? ` · ${r.step}` : "";
  const pct = formatProgress(r.progress);
  return `#${r.id} ${r.action} ${r.status}${step}${pct ? ` ${pct}` : ""}`;
}

function hostRow(r: HostRow): Html {
  const s = r.status;
  return html`<tr data-host="${s.host}">
    <td><a href="/ui/hosts/${encodeURIComponent(s.host)}">${s.host}</a></td>
    <td>${badge(s.state)}</td>
    <td data-run>${runSummary(s)}</td>
    <td data-last>${when(s.run?.lastEventAt)}</td>
    <td>${r.image ?? "-"}</td>
    <td>${r.address ?? "-"}</td>
    <td class="mono">${s.macs.join(" ")}</td>
  </tr>`;
}

export function hostsPage(rows: HostRow[], o: Omit<PageOptions, "title" | "nav">): string {
  const body = rows.length
    ? table(
        ["Host", "State", "Last run", "Last event", "Image", "Address", "MACs"],
        rows.map(hostRow),
        { cls: "hosts", live: "hosts" },
      )
    : html`<p>No host files. Add one to the host folder (see Discovered for the MACs seen).</p>`;
  return page(
    { ...o, title: "Hosts", nav: "hosts" },
    html`<h1>Hosts</h1>
      ${body}`,
  );
}
