// Thin I/O: reads /proc, /sys, efivars, the kernel log and every disk, and
// hands the text to the pure parsers (parse.ts, classify.ts). Nothing is
// written to any disk: filesystems are mounted with probe's read-only
// options (no journal replay) just long enough to look at their top level
// and count /home's files.
import { readFile, readdir, readlink, access } from "node:fs/promises";
import path from "node:path";
import type { CommandRunner } from "../run/runner.ts";
import { probeDisks, roMount, topLevel } from "../probe/index.ts";
import type { ProbedDisk, ProbedPartition } from "../probe/types.ts";
import type {
  Inventory,
  InventoryDisk,
  InventoryNic,
  InventoryPartition,
  InventoryProblem,
} from "../spec/inventory.ts";
import { classifyPartition, homeOwners, READABLE_FS, type Contents } from "./classify.ts";
import {
  firmwareFailures,
  memTotalBytes,
  nicOf,
  parseCpuinfo,
  secureBootState,
  unboundControllers,
  type PciFunction,
} from "./parse.ts";

export interface CollectOptions {
  runner: CommandRunner;
  /** Only these block devices (tests: loop devices); default every disk. */
  devices?: string[];
  /** Where the read-only mounts go. */
  scratch: string;
  /** The MAC the machine netbooted with (the server's, else BOOTIF). */
  netbootMac?: string;
  /** Files counted under a /home before the count stops (capped). */
  fileCap?: number;
}

const EFI_GLOBAL = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
const read = (f: string) =>
  readFile(f, "utf8").then(
    (t) => t.trim(),
    () => undefined,
  );
const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );
const linkName = (p: string) =>
  readlink(p).then(
    (l) => path.basename(l),
    () => undefined,
  );

export async function collectInventory(o: CollectOptions): Promise<Inventory> {
  const problems: InventoryProblem[] = [];
  const uefi = await exists("/sys/firmware/efi");
  const efivar = (n: string) =>
    readFile(`/sys/firmware/efi/efivars/${n}-${EFI_GLOBAL}`).catch(() => undefined);
  const disks = await probeDisks(o.runner, o.devices);
  const inv: Inventory = {
    version: 1,
    collectedAt: new Date().toISOString(),
    firmware: uefi
      ? {
          mode: "uefi",
          secureBoot: secureBootState(await efivar("SecureBoot"), await efivar("SetupMode")),
        }
      : { mode: "bios" },
    cpu: parseCpuinfo((await read("/proc/cpuinfo")) ?? ""),
    memory: { totalBytes: memTotalBytes((await read("/proc/meminfo")) ?? "") },
    disks: [],
    nics: await nics(o.netbootMac),
    problems,
  };
  for (const d of disks) inv.disks.push(await diskOf(d, o));
  const dmesg = await o.runner.run(["dmesg"]).then(
    (r) => r.stdout,
    (err: Error) => {
      problems.push({ kind: "probe", message: `dmesg: ${err.message.split("\n")[0]}` });
      return "";
    },
  );
  problems.push(...firmwareFailures(dmesg), ...unboundControllers(await pciFunctions()));
  return inv;
}

async function diskOf(d: ProbedDisk, o: CollectOptions): Promise<InventoryDisk> {
  const flag = async (f: string) => {
    const v = await read(`/sys/block/${d.name}/${f}`);
    return v === "1" ? true : v === "0" ? false : undefined;
  };
  const rotational = await flag("queue/rotational");
  const removable = await flag("removable");
  const out: InventoryDisk = {
    path: d.path,
    name: d.name,
    sizeBytes: d.sizeBytes,
    byId: d.byId,
    ...pick(d, ["model", "serial", "wwn", "pttype", "fstype", "label", "uuid"]),
    ...(rotational !== undefined ? { rotational } : {}),
    ...(removable !== undefined ? { removable } : {}),
    partitions: [],
  };
  for (const p of d.partitions) out.partitions.push(await partitionOf(p, o));
  return out;
}

async function partitionOf(p: ProbedPartition, o: CollectOptions): Promise<InventoryPartition> {
  const out: InventoryPartition = {
    path: p.path,
    sizeBytes: p.sizeBytes,
    mountpoints: p.mountpoints,
    ...(p.number !== undefined ? { number: p.number } : {}),
    ...pick(p, ["fstype", "label", "partlabel", "uuid", "partuuid", "parttype"]),
  };
  let contents: Contents | undefined;
  let files: { count: number; capped: boolean } | undefined;
  if (p.fstype && READABLE_FS.has(p.fstype) && p.mountpoints.length === 0) {
    try {
      await roMount(o.runner, p.path, p.fstype, o.scratch, async (dir) => {
        contents = await contentsOf(dir);
        if (classifyPartition(p, contents).role === "home")
          files = await countFiles(dir, o.fileCap ?? 2_000_000);
      });
    } catch (err) {
      out.unreadable = `read-only mount failed: ${(err as Error).message.split("\n")[0]}`.slice(
        0,
        500,
      );
    }
  }
  const c = classifyPartition(p, contents);
  if (c.role) out.role = c.role;
  if (c.os) out.os = c.os.slice(0, 200);
  if (c.role === "home" && contents) out.owners = homeOwners(contents.entries);
  if (files) {
    out.files = files.count;
    if (files.capped) out.filesCapped = true;
  }
  return out;
}

async function contentsOf(dir: string): Promise<Contents> {
  const osRelease =
    (await readFile(path.join(dir, "etc/os-release"), "utf8").catch(() => undefined)) ??
    (await readFile(path.join(dir, "usr/lib/os-release"), "utf8").catch(() => undefined));
  return {
    entries: await topLevel(dir),
    gentooRelease: await exists(path.join(dir, "etc/gentoo-release")),
    passwd: await exists(path.join(dir, "etc/passwd")),
    ...(osRelease !== undefined ? { osRelease } : {}),
  };
}

/** Regular files (and symlinks) under `dir`, never following links; stops at `cap`. */
async function countFiles(dir: string, cap: number): Promise<{ count: number; capped: boolean }> {
  let count = 0;
  const todo = [dir];
  while (todo.length) {
    const d = todo.pop()!;
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.isDirectory()) todo.push(path.join(d, e.name));
      else if (++count >= cap) return { count, capped: true };
    }
  }
  return { count, capped: false };
}

async function nics(netbootMac: string | undefined): Promise<InventoryNic[]> {
  const out: InventoryNic[] = [];
  const names = (await readdir("/sys/class/net").catch(() => [] as string[])).sort();
  for (const name of names) {
    const at = (f: string) => `/sys/class/net/${name}/${f}`;
    const driver = await linkName(at("device/driver"));
    const bus = await linkName(at("device"));
    const speed = await read(at("speed"));
    const nic = nicOf(
      {
        name,
        address: (await read(at("address"))) ?? "",
        type: (await read(at("type"))) ?? "",
        operstate: (await read(at("operstate"))) ?? "unknown",
        ...(speed !== undefined ? { speed } : {}),
        ...(driver ? { driver } : {}),
        ...(bus ? { bus } : {}),
      },
      netbootMac,
    );
    if (nic) out.push(nic);
  }
  return out.slice(0, 64);
}

async function pciFunctions(): Promise<PciFunction[]> {
  const base = "/sys/bus/pci/devices";
  const out: PciFunction[] = [];
  for (const slot of (await readdir(base).catch(() => [] as string[])).sort()) {
    const driver = await linkName(path.join(base, slot, "driver"));
    out.push({
      slot,
      class: (await read(path.join(base, slot, "class"))) ?? "",
      vendor: (await read(path.join(base, slot, "vendor"))) ?? "",
      device: (await read(path.join(base, slot, "device"))) ?? "",
      ...(driver ? { driver } : {}),
    });
  }
  return out;
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
