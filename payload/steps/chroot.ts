// Chroot mounts (Handbook "Chrooting") and their clean undoing.
import { lstat, readFile, rm, rmdir, mkdir, symlink } from "node:fs/promises";
import path from "node:path";
import type { Handler } from "../run/executor.ts";
import type { RunContext } from "../run/context.ts";
import { showCommand } from "../../shared/command-error.ts";
import { inChroot } from "../run/runner.ts";
import { stopLeftovers } from "./leftovers.ts";
import { writeTargetFile } from "./target-fs.ts";

export const chrootMounts: Handler<"chroot-mounts"> = async (a, ctx) => {
  const r = ctx.runner;
  const t = (p: string) => path.join(a.target, p);
  // Dereferenced: the RAM system's resolv.conf is often a symlink into /run.
  const resolv = await readFile("/etc/resolv.conf", "utf8").catch(() => "");
  if (resolv)
    await writeTargetFile(a.target, { path: "/etc/resolv.conf", content: resolv, mode: 0o644 });
  for (const d of ["proc", "sys", "dev", "run"]) await mkdir(t(d), { recursive: true });
  await r.run(["mount", "--types", "proc", "/proc", t("proc")]);
  ctx.mounts.push(t("proc"));
  for (const d of ["sys", "dev"]) {
    await r.run(["mount", "--rbind", `/${d}`, t(d)]);
    ctx.mounts.push(t(d));
    await r.run(["mount", "--make-rslave", t(d)]);
  }
  // devtmpfs without udev (the RAM system) has no /dev/fd and std* links;
  // Portage refuses to run then ("Failed to validate a sane '/dev'").
  await ensureFdLinks(t("dev"));
  await r.run(["mount", "--bind", "/run", t("run")]);
  ctx.mounts.push(t("run"));
  await r.run(["mount", "--make-slave", t("run")]);
  // On non-Gentoo media /dev/shm can be a symlink; the chroot needs a real tmpfs there.
  const shm = await lstat(t("dev/shm")).catch(() => null);
  if (!shm || shm.isSymbolicLink()) {
    await rm(t("dev/shm"), { force: true });
    await mkdir(t("dev/shm"), { recursive: true });
    await r.run([
      "mount",
      "--types",
      "tmpfs",
      "--options",
      "nosuid,nodev,noexec,mode=1777",
      "shm",
      t("dev/shm"),
    ]);
  }
  if (a.efivarfs) {
    const vars = t("sys/firmware/efi/efivars");
    const mounted = (await readFile("/proc/self/mountinfo", "utf8")).includes(` ${vars} `);
    if (!mounted) await r.run(["mount", "-t", "efivarfs", "efivarfs", vars]);
  }
};

/** The links udev and systemd make in /dev: fd -> /proc/self/fd, stdin/stdout/stderr -> fd/0..2. */
export async function ensureFdLinks(dev: string): Promise<void> {
  const links: Array<[string, string]> = [
    ["fd", "/proc/self/fd"],
    ["stdin", "/proc/self/fd/0"],
    ["stdout", "/proc/self/fd/1"],
    ["stderr", "/proc/self/fd/2"],
  ];
  for (const [name, to] of links) {
    const at = path.join(dev, name);
    if (await lstat(at).catch(() => null)) continue;
    await symlink(to, at);
  }
}

export const chrootRun: Handler<"chroot-run"> = async (a, ctx) => {
  for (const cmd of a.commands) {
    ctx.log(`chroot: ${showCommand(cmd)}`);
    await ctx.runner.run(inChroot(a.target, cmd), { onLine: ctx.log });
  }
};

export const writeFiles: Handler<"write-files"> = async (a) => {
  for (const f of a.files) await writeTargetFile(a.target, f);
};

/** Mountpoints at or under `dir`, deepest first, from /proc/self/mountinfo. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  const root = path.resolve(dir);
  return info
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => !!m)
    .map((m) => m.replace(/\\040/g, " "))
    .filter((m) => m === root || m.startsWith(`${root}/`))
    .sort((x, y) => y.length - x.length);
}

/** Unmounts everything under the target; lazy only as a last resort, and then says so. */
export async function unmountAll(ctx: RunContext, target: string): Promise<void> {
  const stopped = await stopLeftovers(target);
  if (stopped.length)
    ctx.log(`stopped what the install left running in ${target}: ${stopped.join(", ")}`);
  await ctx.runner.run(["sync"]).catch(() => undefined);
  for (const m of ["dev/shm", "dev/pts", "dev"]) {
    const p = path.join(target, m);
    if ((await mountsUnder(p)).length)
      await ctx.runner.run(["umount", "-l", p]).catch(() => undefined);
  }
  if ((await mountsUnder(target)).length) {
    await ctx.runner.run(["umount", "-R", target]).catch(async (e: unknown) => {
      ctx.log(`umount -R ${target} failed (${(e as Error).message.split("\n")[0]}); lazy unmount`);
      await ctx.runner.run(["umount", "-R", "-l", target]);
    });
  }
  const left = await mountsUnder(target);
  if (left.length) throw new Error(`still mounted under ${target}: ${left.join(", ")}`);
  ctx.mounts = [];
  const made = ctx.createdLinks.splice(0);
  for (const l of [
    ...made.filter((x) => !x.startsWith("dir:")),
    ...made.filter((x) => x.startsWith("dir:")),
  ]) {
    // Only if empty: another tool may have put links there meanwhile.
    if (l.startsWith("dir:")) await rmdir(l.slice(4)).catch(() => undefined);
    else await rm(l, { force: true });
  }
}

export const unmount: Handler<"unmount"> = async (a, ctx) => {
  await unmountAll(ctx, a.target);
  await ctx.staged?.cleanup().catch(() => undefined);
};
