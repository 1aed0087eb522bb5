// pave + mounts: partition table (create layouts), wipefs + mkfs, mount.
import { mkdir } from "node:fs/promises";
import type { Handler } from "../run/executor.ts";
import type { RunContext } from "../run/context.ts";
import { assertDisk, assertPartition } from "../run/identity.ts";

// boot: layout ab's shared automagic-boot partition, a plain Linux filesystem.
const GPT_TYPE = {
  bios_grub: "ef02",
  esp: "ef00",
  swap: "8200",
  root: "8304",
  boot: "8300",
} as const;

export const partition: Handler<"partition"> = async (a, ctx) => {
  const r = ctx.runner;
  // The name was probed before the downloads; it must still be that disk.
  await assertDisk(r, a.disk, a.expect);
  await r.run(["wipefs", "--all", "--force", a.disk]);
  await r.run(["sgdisk", "--zap-all", a.disk]);
  const args: string[] = [];
  for (const p of a.partitions) {
    const size = p.sizeBytes ? `+${Math.floor(p.sizeBytes / 1024)}K` : "0";
    args.push(
      `--new=${p.number}:0:${size}`,
      `--typecode=${p.number}:${GPT_TYPE[p.role]}`,
      `--change-name=${p.number}:${p.name ?? p.role}`,
    );
  }
  await r.run(["sgdisk", ...args, a.disk]);
  await r.run(["partprobe", a.disk]);
  // A kernel without GPT support ignores the re-read; partx tells it from userspace.
  await r.run(["partx", "--update", a.disk]).catch(() => r.run(["partx", "--add", a.disk]));
  await r.run(["udevadm", "settle"]).catch(() => undefined); // no udev in some RAM systems
};

export const format: Handler<"format"> = async (a, ctx) => {
  const r = ctx.runner;
  await assertPartition(r, a.device, a.expect, a.refuseContainers);
  // Old signatures confuse blkid and mount (a stale xfs superblock under ext4).
  await r.run(["wipefs", "--all", "--force", a.device]);
  const label = a.label ?? "";
  const cmd: Record<string, string[]> = {
    ext4: ["mkfs.ext4", "-F", "-q", ...(label ? ["-L", label] : []), a.device],
    xfs: ["mkfs.xfs", "-f", ...(label ? ["-L", label.slice(0, 12)] : []), a.device],
    btrfs: ["mkfs.btrfs", "-f", ...(label ? ["-L", label] : []), a.device],
    vfat: ["mkfs.vfat", "-F", "32", ...(label ? ["-n", label.slice(0, 11)] : []), a.device],
    swap: ["mkswap", ...(label ? ["-L", label] : []), a.device],
  };
  const c = cmd[a.fs];
  if (!c) throw new Error(`${a.device}: no mkfs for filesystem type ${a.fs}`);
  await r.run(c);
  ctx.uuids.set(a.device, await readUuid(ctx, a.device));
};

export async function readUuid(ctx: RunContext, device: string): Promise<string> {
  const known = ctx.uuids.get(device);
  if (known) return known;
  const { stdout } = await ctx.runner.run(["blkid", "-p", "-o", "value", "-s", "UUID", device]);
  const uuid = stdout.trim();
  if (!uuid) throw new Error(`${device}: blkid found no filesystem UUID`);
  ctx.uuids.set(device, uuid);
  return uuid;
}

export const mount: Handler<"mount"> = async (a, ctx) => {
  await mkdir(a.target, { recursive: true });
  await ctx.runner.run([
    "mount",
    "-t",
    a.fs,
    ...(a.options && a.options !== "defaults" ? ["-o", a.options] : []),
    a.device,
    a.target,
  ]);
  ctx.mounts.push(a.target);
};
