// Pure views over the store for the admin API and the CLI: host status rows
// and the Ansible inventory.
import type { AbSlots } from "../app/slots.ts";
import type { HostEntry } from "../hosts/index.ts";
import { hostPhase, phaseLabel, type HostFacts } from "../policy/state-machine.ts";

export interface HostStatus {
  host: string;
  macs: string[];
  /** local | armed:X | running:X | stalled:X | failed:X */
  state: string;
  /** Why the host went back to local on its own (an armed action expired). */
  note?: string;
  run?: {
    id: number;
    action: string;
    status: string;
    phase: 1 | 2 | 3;
    step?: string;
    progress?: { done: number; total?: number; unit?: string };
    lastEventAt?: string;
    failure?: string;
    /** The address the boot script with the token went to. */
    bootIp?: string;
    /** The address that fetched the spec: the run's tokens work from there only. */
    specIp?: string;
  };
  /** The hardware its last discover run reported (admin.ts adds it). */
  inventory?: { reportedAt: string; summary: string };
  /** Layout ab: what each root slot holds and which is the default (admin.ts adds it). */
  slots?: AbSlots;
}

export function hostStatus(
  host: HostEntry,
  facts: HostFacts,
  now: number,
  stallMs: number,
): HostStatus {
  const phase = hostPhase(facts, now, stallMs);
  const out: HostStatus = { host: host.name, macs: host.macs, state: phaseLabel(phase) };
  if (facts.note && phase.state === "local") out.note = facts.note;
  const r = facts.run;
  if (r) {
    out.run = { id: r.id, action: r.action, status: r.status, phase: r.phase };
    if (r.currentStep) out.run.step = r.currentStep;
    if (r.progress) out.run.progress = r.progress;
    if (r.lastEventAt) out.run.lastEventAt = new Date(r.lastEventAt).toISOString();
    if (r.failure) out.run.failure = r.failure;
    if (r.bootIp) out.run.bootIp = r.bootIp;
    if (r.specIp) out.run.specIp = r.specIp;
  }
  return out;
}

export interface Inventory {
  _meta: { hostvars: Record<string, Record<string, unknown>> };
  all: { hosts: string[]; children: string[] };
  [group: string]: unknown;
}

/**
 * `ansible-inventory -i script` JSON (the --list form): every host in `all`,
 * groups from host files, address from `ipFor` (our DHCP lease, else the
 * address the machine last talked to us from: proxy mode hands out no leases).
 */
export function inventory(
  hosts: HostEntry[],
  ipFor: (mac: string) => string | undefined,
  states: Map<string, string>,
): Inventory {
  const groups = new Map<string, string[]>();
  const hostvars: Record<string, Record<string, unknown>> = {};
  for (const h of hosts) {
    const vars: Record<string, unknown> = {
      automagic_macs: h.macs,
      automagic_state: states.get(h.name) ?? "local",
      automagic_firmware: h.firmware,
    };
    const ip = h.macs.map((m) => ipFor(m)).find(Boolean);
    if (ip) vars.ansible_host = ip;
    hostvars[h.name] = vars;
    for (const g of h.groups) groups.set(g, [...(groups.get(g) ?? []), h.name]);
  }
  const inv: Inventory = {
    _meta: { hostvars },
    all: { hosts: hosts.map((h) => h.name).sort(), children: [...groups.keys()].sort() },
  };
  for (const [g, members] of groups) inv[g] = { hosts: members.sort() };
  return inv;
}
