// next / status / events / trace / inventory / wake / hosts discovered:
// the operator's view of the control plane, through the admin API.
import type { Command } from "commander";
import { AdminClient } from "../../app/client.ts";
import {
  formatDiscovered,
  formatEvent,
  formatStatus,
  formatHostImages,
  formatSysImages,
  type HostImages,
  formatTrace,
} from "../../app/format.ts";
import { formatInventory, type StoredInventory } from "../../app/format-inventory.ts";
import type { SysImage } from "../../sysimgs/store.ts";
import type { HostStatus } from "../../http/views.ts";
import type { StoredEvent } from "../../state/store.ts";
import type { Discovered, TraceEntry } from "../../state/observations.ts";
import { parseAction } from "../../policy/actions.ts";
import { normalizeMac } from "../../policy/mac.ts";

const out = (s: string) => process.stdout.write(s);

export function client(cmd: Command): AdminClient {
  const o = cmd.optsWithGlobals<{ server?: string; adminToken?: string }>();
  const token = o.adminToken ?? process.env.AUTOMAGIC_ADMIN_TOKEN;
  return new AdminClient({
    server: o.server ?? process.env.AUTOMAGIC_SERVER ?? "http://127.0.0.1:8080",
    ...(token ? { token } : {}),
  });
}

export function withServer(cmd: Command): Command {
  return cmd
    .option(
      "--server <url>",
      "automagic server (env AUTOMAGIC_SERVER, default http://127.0.0.1:8080)",
    )
    .option(
      "--admin-token <token>",
      "admin bearer token (env AUTOMAGIC_ADMIN_TOKEN; on the server host it is found by itself)",
    );
}

export function registerControl(program: Command): void {
  withServer(program.command("next"))
    .description(
      "arm the next-boot action: local | install | capture | rescue | discover | deploy:<image>",
    )
    .argument("<host>")
    .argument("<action>")
    .option("--json", "the host's status after arming")
    .action(async (host: string, action: string, o: { json?: boolean }, cmd: Command) => {
      const a = parseAction(action);
      const s = await client(cmd).json<HostStatus & { cancelledRun?: number }>(
        "POST",
        `/api/v1/admin/hosts/${encodeURIComponent(host)}/next`,
        { action: a },
      );
      if (o.json) out(`${JSON.stringify(s, null, 2)}\n`);
      else
        out(`${s.host}: ${s.state}${s.cancelledRun ? ` (run ${s.cancelledRun} cancelled)` : ""}\n`);
    });

  withServer(program.command("status"))
    .description("each host's action, current step and progress")
    .argument("[host]")
    .option("--json", "machine-readable")
    .action(async (host: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const c = client(cmd);
      const rows = host
        ? [await c.json<HostStatus>("GET", `/api/v1/admin/hosts/${encodeURIComponent(host)}`)]
        : await c.json<HostStatus[]>("GET", "/api/v1/admin/hosts");
      out(o.json ? `${JSON.stringify(host ? rows[0] : rows, null, 2)}\n` : formatStatus(rows));
    });

  withServer(program.command("events"))
    .description(
      "a host's run events; --follow streams new ones (and resumes after a dropped connection)",
    )
    .argument("<host>")
    .option("-f, --follow", "keep streaming (SSE)")
    .option("--json", "one JSON object per line")
    .action(async (host: string, o: { follow?: boolean; json?: boolean }, cmd: Command) => {
      const c = client(cmd);
      const path = `/api/v1/admin/hosts/${encodeURIComponent(host)}/events`;
      const print = (e: StoredEvent) => out(`${o.json ? JSON.stringify(e) : formatEvent(e)}\n`);
      if (!o.follow) {
        for (const e of await c.json<StoredEvent[]>("GET", path)) print(e);
        return;
      }
      const onDrop = (why: string, lastId: string | undefined) =>
        process.stderr.write(
          `events: stream lost (${why}); reconnecting${lastId ? ` after event ${lastId}` : ""}\n`,
        );
      for await (const e of c.follow(`${path}?follow=1`, { onDrop })) print(e as StoredEvent);
    });

  withServer(program.command("trace"))
    .description("the boot chain as the server saw it (DHCP, TFTP, script, kernel/initrd, payload)")
    .argument("<host-or-mac>")
    .option("--json", "machine-readable")
    .action(async (what: string, o: { json?: boolean }, cmd: Command) => {
      const c = client(cmd);
      const mac = normalizeMac(what);
      const r = await c.json<{ status?: HostStatus; trace: TraceEntry[] }>(
        "GET",
        mac
          ? `/api/v1/admin/trace/${mac}`
          : `/api/v1/admin/hosts/${encodeURIComponent(what)}/trace`,
      );
      if (o.json) {
        out(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      if (r.status) out(`${r.status.host}: ${r.status.state}\n`);
      out(formatTrace(r.trace));
    });

  withServer(program.command("inventory"))
    .description(
      "inventory HOST|MAC: the hardware its discover run reported; without one: Ansible inventory JSON (an `ansible-inventory -i` script)",
    )
    .argument("[host]", "a host or MAC: show the hardware a discover run reported")
    .option("--list", "all hosts (the default)")
    .option("--host <name>", "one host's variables (ansible script protocol)")
    .option("--json", "machine-readable (the Ansible forms are always JSON)")
    .action(async (hw: string | undefined, o: { host?: string; json?: boolean }, cmd: Command) => {
      if (hw) {
        const r = await client(cmd).json<StoredInventory>(
          "GET",
          `/api/v1/admin/hosts/${encodeURIComponent(hw)}/inventory`,
        );
        out(o.json ? `${JSON.stringify(r, null, 2)}\n` : formatInventory(hw, r));
        return;
      }
      const inv = await client(cmd).json<{ _meta: { hostvars: Record<string, unknown> } }>(
        "GET",
        "/api/v1/admin/inventory",
      );
      const doc = o.host ? (inv._meta.hostvars[o.host] ?? {}) : inv;
      out(`${JSON.stringify(doc, null, 2)}\n`);
    });

  withServer(program.command("sysimgs"))
    .description(
      "captured system images, newest first: all on the server, or one host's in both stores (the server, and its own /home as its RAM system last reported it)",
    )
    .argument("[host]")
    .option("--json", "machine-readable")
    .action(async (host: string | undefined, o: { json?: boolean }, cmd: Command) => {
      if (host) {
        const both = await client(cmd).json<HostImages>(
          "GET",
          `/api/v1/admin/hosts/${encodeURIComponent(host)}/sysimgs`,
        );
        out(o.json ? `${JSON.stringify(both, null, 2)}\n` : formatHostImages(both));
        return;
      }
      const list = await client(cmd).json<SysImage[]>("GET", "/api/v1/admin/sysimgs");
      out(o.json ? `${JSON.stringify(list, null, 2)}\n` : formatSysImages(list));
    });

  withServer(program.command("wake"))
    .description("send a Wake-on-LAN magic packet to a host (on the served interface only)")
    .argument("<host>")
    .option("--json", "machine-readable")
    .action(async (host: string, o: { json?: boolean }, cmd: Command) => {
      const r = await client(cmd).json<{ host: string; woke: string[] }>(
        "POST",
        `/api/v1/admin/hosts/${encodeURIComponent(host)}/wake`,
      );
      out(
        o.json
          ? `${JSON.stringify(r, null, 2)}\n`
          : `${host}: magic packet sent to ${r.woke.join(", ")}\n`,
      );
    });

  // `hosts discovered` and `hosts draft` live under the hosts command (registered by hosts.ts).
  const hosts = program.commands.find((c) => c.name() === "hosts");
  withServer(hosts ? hosts.command("draft") : program.command("draft"))
    .description(
      "print a commented host file drafted from the hardware a discover run reported (save it as NAME.yaml)",
    )
    .argument("<host-or-mac>")
    .option("--json", "{name, file, reportedAt, yaml}")
    .action(async (what: string, o: { json?: boolean }, cmd: Command) => {
      const r = await client(cmd).json<{ name: string; file: string; yaml: string }>(
        "GET",
        `/api/v1/admin/hosts/${encodeURIComponent(what)}/draft`,
      );
      out(o.json ? `${JSON.stringify(r, null, 2)}\n` : r.yaml);
    });
  const discovered = hosts ? hosts.command("discovered") : program.command("discovered");
  withServer(discovered)
    .description("machines that netbooted with a MAC no host file claims")
    .option("--json", "machine-readable")
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const list = await client(cmd).json<Discovered[]>("GET", "/api/v1/admin/discovered");
      out(o.json ? `${JSON.stringify(list, null, 2)}\n` : formatDiscovered(list));
    });
}
