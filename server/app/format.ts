// Text the CLI prints: pure, so it is tested without a server.
import { formatSlots } from "./slots.ts";
import type { SysImage } from "../sysimgs/store.ts";
import type { StoredEvent } from "../state/store.ts";
import type { TraceEntry, Discovered } from "../state/observations.ts";
import type { HostStatus } from "../http/views.ts";

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return (
    rows
      .map((r) =>
        r
          .map((v, c) => v.padEnd(widths[c]!))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

export function formatProgress(
  p: { done: number; total?: number; unit?: string } | undefined,
): string {
  if (!p) return "";
  if (p.total) return `${Math.floor((100 * p.done) / p.total)}%`;
  return `${p.done}${p.unit ? ` ${p.unit}` : ""}`;
}

export function formatStatus(rows: HostStatus[]): string {
  const out = [["HOST", "STATE", "RUN", "PHASE", "STEP", "PROGRESS", "LAST EVENT", "FROM"]];
  for (const s of rows) {
    const r = s.run;
    out.push([
      s.host,
      s.state,
      r ? `${r.id} ${r.status}` : "-",
      r ? String(r.phase) : "-",
      r?.step ?? "-",
      formatProgress(r?.progress) || "-",
      r?.lastEventAt ?? "-",
      r?.specIp ?? "-",
    ]);
  }
  let text = table(out);
  for (const s of rows) {
    if (s.state.startsWith("failed") && s.run?.failure) text += `\n${s.host}: ${s.run.failure}\n`;
    else if (s.state === "local" && s.run?.status === "expired" && s.run.failure)
      text += `\n${s.host}: ${s.run.failure}\n`;
    if (s.note) text += `\n${s.host}: ${s.note}\n`;
    if (s.inventory)
      text += `\n${s.host}: hardware (${s.inventory.reportedAt}): ${s.inventory.summary}\n`;
    if (s.slots) text += `\n${formatSlots(s.host, s.slots)}`;
  }
  return text;
}

export function formatEvent(e: StoredEvent): string {
  const ev = e.event;
  const head = `${ev.time} run ${e.runId} p${ev.phase} #${ev.seq} ${ev.kind}`;
  const parts = [head];
  if (ev.step) parts.push(ev.step);
  if (ev.progress) parts.push(formatProgress(ev.progress));
  if (ev.message) parts.push(ev.message);
  if (ev.kind === "step-fail") {
    if (ev.device) parts.push(`device=${ev.device}`);
    if (ev.command) parts.push(`command="${ev.command}"`);
    if (ev.exitCode !== undefined) parts.push(`exit=${ev.exitCode}`);
  }
  let line = parts.join(" ");
  if (ev.stderrTail) line += `\n  ${ev.stderrTail.trimEnd().split("\n").join("\n  ")}`;
  return line;
}

export function formatTrace(entries: TraceEntry[]): string {
  if (entries.length === 0) return "no boot activity seen for this host\n";
  return (
    entries
      .map((e) => {
        const d = e.detail
          ? " " +
            Object.entries(e.detail)
              .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
              .join(" ")
          : "";
        return `${new Date(e.time).toISOString()} ${e.mac} ${e.source.padEnd(7)} ${e.what}${d}`;
      })
      .join("\n") + "\n"
  );
}

export function formatDiscovered(list: Discovered[]): string {
  if (list.length === 0) return "no unknown machines seen\n";
  const rows = [["MAC", "FIRST SEEN", "LAST SEEN", "BOOTS", "ARCH", "IP"]];
  for (const d of list) {
    rows.push([
      d.mac,
      new Date(d.firstSeen).toISOString(),
      new Date(d.lastSeen).toISOString(),
      String(d.seen),
      d.arch ?? "-",
      d.ip ?? "-",
    ]);
  }
  return table(rows);
}

/** One host's images in both stores (GET /api/v1/admin/hosts/:name/sysimgs). */
export interface HostImages {
  host: string;
  server: SysImage[];
  home?: { reportedAt: string; images: Array<Omit<SysImage, "run" | "source">> };
}

export function formatHostImages(h: HostImages): string {
  const rows = [["STORE", "NAME", "CREATED", "MIB", "SHA256"]];
  const add = (
    store: string,
    i: { name: string; created: string; bytes: number; sha256: string },
  ) =>
    rows.push([
      store,
      i.name,
      i.created,
      (i.bytes / 2 ** 20).toFixed(1),
      `${i.sha256.slice(0, 16)}…`,
    ]);
  for (const i of h.server) add("server", i);
  for (const i of h.home?.images ?? []) add("home", i);
  const seen = h.home
    ? `/home as reported by ${h.host}'s RAM system at ${h.home.reportedAt} (capture and deploy report it)`
    : `/home: never reported (the RAM system reports it in capture and deploy runs)`;
  return `${rows.length > 1 ? table(rows) : `no system images of ${h.host}\n`}${seen}\n`;
}

export function formatSysImages(list: SysImage[]): string {
  if (list.length === 0) return "no system images (arm `capture` on an installed host)\n";
  const rows = [["NAME", "HOST", "CREATED", "MIB", "SHA256"]];
  for (const i of list)
    rows.push([
      i.name,
      i.host,
      i.created,
      (i.bytes / 2 ** 20).toFixed(1),
      `${i.sha256.slice(0, 16)}…`,
    ]);
  return table(rows);
}
