// The probe: thin I/O that returns a plain ProbedSystem. lsblk is asked only
// about --devices when given, so a real disk can never become a candidate.
// The /home and old-root filesystems are mounted read-only (no journal
// replay) just long enough to read their top level and account files.
import { HOME_SYSIMGS, listHome } from "../sysimg/home.ts";
import { readFile, readdir, readlink, stat, statfs, access, mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { InstallSpec } from "../spec/schema.ts";
import type { CommandRunner } from "../run/runner.ts";
import { parseLsblk } from "./lsblk.ts";
import { cleanSerial, sysfsSerial } from "./serial.ts";
import { mergeBlkidDisk, mergeBlkidPartition, parseBlkidExport } from "./blkid.ts";
import { bootifMac } from "./cmdline.ts";
import { parsePasswd, parseShadow, usableHash } from "../keep/accounts.ts";
import { findPartition } from "../plan/select.ts";
import { probeDownloads } from "./downloads.ts";
import type {
  HomeEntry,
  OldRootFacts,
  ProbedDisk,
  ProbedPartition,
  ProbedSystem,
} from "./types.ts";
import { mountedAt, readGrubEnvIn, sharedRef } from "./ab.ts";
import { chooseSlot, keepListSlot } from "../plan/ab.ts";

export interface ProbeOptions {
  devices?: string[];
  runner: CommandRunner;
  scratch?: string;
  /**
   * Learn the download sizes from the mirror (probe/downloads.ts): "required"
   * fails the probe when the pointer cannot be fetched or verified (a real run:
   * fetch-verify would fail anyway, better before planning); "best-effort"
   * records why and lets the plan fall back to an estimate (--dry-run).
   */
  downloads?: "required" | "best-effort" | "skip";
  fetch?: typeof fetch;
  /** The kernel command line (BOOTIF); /proc/cmdline when absent. */
  cmdline?: string;
}

/** Every disk (only `devices` when given), with sysfs serials and blkid's view merged in. */
export async function probeDisks(r: CommandRunner, devices?: string[]): Promise<ProbedDisk[]> {
  const { stdout } = await r.run(["lsblk", "-J", "-b", "-O", ...(devices ?? [])]);
  const listed = parseLsblk(stdout, { byId: await readById(), includeLoop: !!devices?.length });
  const disks = await Promise.all(listed.map(async (d) => withBlkid(r, await withSysfs(d))));
  if (devices?.length) {
    // lsblk lists a named partition as a top-level node: keep only whole disks we were given.
    const allowed = new Set(devices.map((d) => path.resolve(d)));
    for (const d of disks)
      if (!allowed.has(d.path)) throw new Error(`probe: ${d.path} is not in --devices`);
  }
  return disks;
}

export async function probeSystem(spec: InstallSpec, o: ProbeOptions): Promise<ProbedSystem> {
  const disks = await probeDisks(o.runner, o.devices);
  const mem = await readFile("/proc/meminfo", "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(mem)?.[1] ?? 0) * 1024;
  const cmdline = o.cmdline ?? (await readFile("/proc/cmdline", "utf8").catch(() => ""));
  const probe: ProbedSystem = {
    firmware: (await exists("/sys/firmware/efi")) ? "uefi" : "bios",
    ramBytes: kb("MemTotal"),
    availRamBytes: kb("MemAvailable"),
    ...(o.devices?.length ? { restrictedTo: o.devices } : {}),
    disks,
  };
  const nic = await bootNic(cmdline);
  if (nic) probe.bootNic = nic;
  const scratch = o.scratch ?? "/run/automagic";
  if (o.downloads && o.downloads !== "skip") {
    try {
      probe.downloads = await probeDownloads(spec, {
        scratch,
        ...(o.fetch ? { fetch: o.fetch } : {}),
      });
    } catch (err) {
      const msg = `${spec.stage3.mirror}: ${(err as Error).message}`;
      if (o.downloads === "required")
        throw new Error(`probe: download sizes: ${msg}`, { cause: err });
      probe.downloadsUnknown = msg;
    }
  }
  try {
    const home = findPartition(spec.home.ref, probe, "home.ref", { wholeDisk: true }).part;
    // Layout ab run from a slot: the running system has /home mounted; read it there.
    if (home.mountpoints.length === 0 || (spec.layout.mode === "ab" && mountedAt(home))) {
      probe.home = await withFiles(o.runner, home, scratch, async (dir) => {
        const st = await statfs(dir);
        return {
          device: home.path,
          ...(home.fstype ? { fstype: home.fstype } : {}),
          entries: await topLevel(dir),
          freeBytes: st.bavail * st.bsize,
          sysimgs: (await listHome(path.join(dir, HOME_SYSIMGS))).images,
        };
      });
    }
  } catch {
    // planInstall names what is missing or ambiguous; the probe only reports.
  }
  if (spec.layout.mode === "keep") {
    try {
      const root = findPartition(spec.layout.root, probe, "layout.root").part;
      if (root.fstype && root.mountpoints.length === 0) {
        probe.oldRoot = await roMount(o.runner, root.path, root.fstype, scratch, (dir) =>
          oldRootFacts(root.path, dir),
        );
      }
    } catch {
      // a root that does not mount holds nothing to keep; the plan refuses `keep` then.
    }
  }
  if (spec.layout.mode === "ab") await probeAb(spec, probe, o.runner, scratch);
  return probe;
}

/**
 * Layout ab adopting slots: the boot state on the shared partition, and what
 * the slot left alone holds (the keep-list's old root). Nothing is written.
 */
async function probeAb(
  spec: InstallSpec,
  probe: ProbedSystem,
  r: CommandRunner,
  scratch: string,
): Promise<void> {
  const layout = spec.layout;
  const ref = sharedRef(spec);
  if (layout.mode !== "ab" || !layout.slots || !ref) return;
  let shared: ProbedPartition;
  try {
    shared = findPartition(ref, probe, "layout.shared").part;
  } catch {
    return; // planInstall names the missing or ambiguous shared partition
  }
  try {
    probe.ab = {
      shared: shared.path,
      ...(await withFiles(r, shared, scratch, (dir) => readGrubEnvIn(dir))),
    };
  } catch (err) {
    // A mount that fails: the plan refuses rather than guess which slot is the default.
    probe.ab = { shared: shared.path, error: (err as Error).message };
  }
  try {
    const slots = {
      a: findPartition(layout.slots.a, probe, "layout.slots.a").part,
      b: findPartition(layout.slots.b, probe, "layout.slots.b").part,
    };
    const from = keepListSlot(slots, chooseSlot(slots, probe.ab?.env));
    if (from) {
      const old = slots[from];
      probe.oldRoot = await withFiles(r, old, scratch, (dir) => oldRootFacts(old.path, dir));
    }
  } catch {
    // the plan refuses with the reason; a slot that does not mount holds nothing to keep.
  }
}

/** Runs `fn` on a partition's files: where the running system has it mounted, else mounted read-only. */
async function withFiles<T>(
  r: CommandRunner,
  part: ProbedPartition,
  scratch: string,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  // A second mount of a filesystem mounted read-write cannot be read-only (EBUSY).
  const at = mountedAt(part);
  return at ? fn(at) : roMount(r, part.path, part.fstype, scratch, fn);
}

/**
 * One whole disk as the probe sees it, without its partitions' details: what
 * a destructive step compares with the plan's identity right before writing
 * (run/identity.ts). Undefined when the name is no disk (any more).
 */
export async function probeDisk(r: CommandRunner, device: string): Promise<ProbedDisk | undefined> {
  const { stdout } = await r.run(["lsblk", "-J", "-b", "-O", "-d", device]);
  const [d] = parseLsblk(stdout, { includeLoop: true });
  return d && withSysfs(d);
}

/**
 * lsblk takes SERIAL from the udev database; the RAM image runs no udev, so
 * the serial comes from sysfs (./serial.ts), trimmed as udev trims it, or a
 * spec's `serial:` would never match a SATA, SCSI, USB or NVMe disk.
 * A loop device's identity is its image file.
 */
async function withSysfs(d: ProbedDisk): Promise<ProbedDisk> {
  const read = async (f: string) => (await readFile(f, "utf8").catch(() => "")).trim();
  const name = path.basename(d.path);
  const out = { ...d };
  if (d.type === "loop") {
    const file = await read(`/sys/block/${name}/loop/backing_file`);
    if (file) out.backingFile = file;
  }
  const serial = cleanSerial(d.serial) ?? (await sysfsSerial(name));
  if (serial) out.serial = serial;
  return out;
}

async function blkid(r: CommandRunner, dev: string): Promise<Record<string, string>> {
  // Exit 2 means "nothing found" (a blank disk or an unformatted partition).
  return r.run(["blkid", "-p", "-o", "export", dev]).then(
    (x) => parseBlkidExport(x.stdout),
    () => ({}),
  );
}

async function withBlkid(r: CommandRunner, d: ProbedDisk): Promise<ProbedDisk> {
  const parts = await Promise.all(
    d.partitions.map(async (p) => mergeBlkidPartition(p, await blkid(r, p.path))),
  );
  return { ...mergeBlkidDisk(d, await blkid(r, d.path)), partitions: parts };
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

async function readById(): Promise<Record<string, string>> {
  const dir = "/dev/disk/by-id";
  const out: Record<string, string> = {};
  for (const l of await readdir(dir).catch(() => [] as string[])) {
    out[l] = path.basename(await readlink(path.join(dir, l)).catch(() => ""));
  }
  return out;
}

/** BOOTIF=01-aa-bb-cc-dd-ee-ff (pxelinux/iPXE convention) -> MAC and the interface that has it. */
async function bootNic(cmdline: string): Promise<{ mac: string; name?: string } | undefined> {
  const mac = bootifMac(cmdline);
  if (!mac) return undefined;
  for (const n of await readdir("/sys/class/net").catch(() => [] as string[])) {
    const a = (await readFile(`/sys/class/net/${n}/address`, "utf8").catch(() => "")).trim();
    if (a === mac) return { mac, name: n };
  }
  return { mac };
}

/**
 * Mount options that write nothing to the filesystem: ro alone would replay
 * an ext4 journal (noload) or an xfs log (norecovery).
 */
export function readOnlyOptions(fstype: string | undefined): string {
  if (fstype === "ext4" || fstype === "ext3") return "ro,noload";
  if (fstype === "xfs") return "ro,norecovery";
  return "ro";
}

export async function roMount<T>(
  r: CommandRunner,
  dev: string,
  fstype: string | undefined,
  scratch: string,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = path.join(scratch, `probe-${path.basename(dev)}-${process.pid}`);
  await mkdir(dir, { recursive: true });
  await r.run(["mount", "-o", readOnlyOptions(fstype), dev, dir]);
  try {
    return await fn(dir);
  } finally {
    await r.run(["umount", dir]);
    await rm(dir, { recursive: true, force: true });
  }
}

export async function topLevel(dir: string): Promise<HomeEntry[]> {
  const out: HomeEntry[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const st = await stat(path.join(dir, name)).catch(() => null);
    if (st) out.push({ name, uid: st.uid, gid: st.gid, isDir: st.isDirectory() });
  }
  return out;
}

async function oldRootFacts(device: string, dir: string): Promise<OldRootFacts> {
  const passwd = await readFile(path.join(dir, "etc/passwd"), "utf8").catch(() => undefined);
  if (passwd === undefined) return { device, hasOs: false, accounts: [], sshHostKeys: [] };
  const shadow = parseShadow(await readFile(path.join(dir, "etc/shadow"), "utf8").catch(() => ""));
  const accounts = parsePasswd(passwd, `${device}:/etc/passwd`).map((p) => ({
    name: p.name,
    uid: p.uid,
    gid: p.gid,
    hasShadow: shadow.some((s) => s.name === p.name && usableHash(s.hash)),
  }));
  const ssh = await readdir(path.join(dir, "etc/ssh")).catch(() => [] as string[]);
  return {
    device,
    hasOs: true,
    accounts,
    sshHostKeys: ssh.filter((n) => /^ssh_host_\w+_key$/.test(n)).sort(),
  };
}
