// automagic-install --action capture: archive the installed root to the
// server and/or the machine's own /home/data/sysimgs (DESIGN.md "Images",
// payload/sysimg/home.ts): one tar + zstd stream, hashed once, written to
// every store the run names. The root is never written: it is found by
// its label (plan/capture-root.ts), mounted read-only, and streamed as
// tar + zstd (xattrs, numeric owners) while it is hashed; the server keeps it
// only when its sha256 equals ours (server/sysimgs/store.ts). A filesystem
// archive, not a partition image: only used blocks travel, and it restores
// onto any partition large enough.
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough, type Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { execa } from "execa";
import { loadSpec } from "./install.ts";
import { abCaptureLabel, findAbShared, findCaptureRoot } from "./plan/capture-root.ts";
import { findPartition } from "./plan/select.ts";
import {
  commitHome,
  freeBytes,
  HOME_SYSIMGS,
  homeRoomRefusal,
  listHome,
  partialOf,
  pruneHome,
  removeLeftovers,
  reportHomeSysimgs,
} from "./sysimg/home.ts";
import type { InstallSpec, SysimgMeta } from "./spec/schema.ts";
import type { ProbedSystem } from "./probe/types.ts";
import { INSTALL_SPEC_SHA256_FILE, INSTALLED_STATE } from "./steps/finish.ts";
import { probeSystem, roMount } from "./probe/index.ts";
import { SHARED_GRUBENV } from "./render/grub-ab.ts";
import { parseGrubEnv } from "./render/grubenv.ts";
import { ROOT_FS_LABEL } from "./plan/groups/disk.ts";
import { openRunChannel } from "./run/channel.ts";
import { Sha256Tap } from "../shared/hash.ts";
import type { CommandRunner } from "./run/runner.ts";

export interface CaptureOptions {
  server: string;
  token: string;
  devices?: string[];
  reboot?: boolean;
  runner?: CommandRunner;
  fetch?: typeof fetch;
  write?: (line: string) => void;
  /** Where the root is mounted read-only. */
  mountDir?: string;
}

/**
 * PUTs a stream on a connection of its own. fetch would take a pooled
 * keep-alive connection, and one the server closes at that moment fails a
 * streamed body with "fetch failed" and nothing to retry from (seen in e2e).
 */
export function putStream(
  url: string,
  body: NodeJS.ReadableStream,
): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const send = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      u,
      { method: "PUT", agent: false, headers: { "content-type": "application/zstd" } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", (err) => reject(new Error(`PUT ${url}: ${err.message}`, { cause: err })));
    body.on("error", (err: Error) => req.destroy(err));
    body.pipe(req);
  });
}

/** tar of a mounted root: what the install's extraction reads back (steps/extract.ts). */
export const TAR_CREATE = [
  "tar",
  "--use-compress-program=zstd -T0 -3",
  "-cp",
  "--xattrs",
  "--xattrs-include=*.*",
  "--numeric-owner",
  "--one-file-system",
  "--sparse",
];

/** Exit code: 0 stored, 1 a step failed, 2 refused (no root to capture, no room, bad spec). */
export async function runCapture(o: CaptureOptions): Promise<number> {
  const { f, runner, base, reporter } = openRunChannel(o);
  const fail = async (step: string, message: string, code: number) => {
    reporter.emit({ kind: "step-fail", step, message });
    await reporter.flush();
    return code;
  };
  reporter.emit({ kind: "run-start", message: "AUTOMAGIC-PAYLOAD-START" });
  let found;
  try {
    found = await findParts(o, f, runner);
  } catch (err) {
    return fail("find-root", `refused: ${(err as Error).message}`, 2);
  }
  const { spec, root, home, to, name } = found;
  const dir = o.mountDir ?? "/run/automagic/capture-root";
  const homeDir = `${dir}-home`;
  const source = { device: root.path, fstype: root.fstype, host: spec.host, init: spec.init };
  const mounts: string[] = [];
  const mount = async (args: string[], at: string) => {
    await mkdir(at, { recursive: true });
    await runner.run(["mount", ...args, at]);
    mounts.unshift(at);
  };
  const unmountAll = async () => {
    for (const m of mounts.splice(0)) await runner.run(["umount", m]).catch(() => undefined);
  };
  let sysimgs: string | undefined;
  try {
    reporter.emit({
      kind: "step-start",
      step: "mount",
      message: `${root.path} read-only at ${dir}`,
    });
    // Plain ro, not ro,noload as for the keep-list (fetch.ts): an ext4 left
    // unclean by a crash gets its journal replayed, so the archive is a
    // consistent filesystem. A cleanly shut down root is not written at all
    // (the e2e compares the disk's sha256 before and after).
    await mount(["-o", "ro", root.path], dir);
    const used = await usedBytes(runner, dir);
    if (home) {
      await mount(["-t", spec.home.fs, home], homeDir);
      // The room first: a refusal writes nothing at all on /home.
      const refused = homeRoomRefusal(home, await freeBytes(homeDir), used);
      if (refused) {
        await unmountAll();
        return fail("room", refused, 2);
      }
      sysimgs = join(homeDir, HOME_SYSIMGS);
      await mkdir(sysimgs, { recursive: true, mode: 0o700 });
      const left = await removeLeftovers(sysimgs);
      if (left.length)
        reporter.emit({
          kind: "log",
          step: "mount",
          message: `removed leftovers of an interrupted capture: ${left.join(", ")}`,
        });
    }
    reporter.emit({ kind: "step-end", step: "mount" });

    const where = to
      .map((t) => (t === "home" ? `${home}:/${HOME_SYSIMGS}` : "the server"))
      .join(" and ");
    reporter.emit({
      kind: "step-start",
      step: "archive",
      message: `tar + zstd of ${root.path} to ${where}`,
    });
    const tar = execa(TAR_CREATE[0]!, [...TAR_CREATE.slice(1), "-f", "-", "-C", dir, "."], {
      buffer: false,
      stderr: "pipe",
    });
    // Compressed bytes sent so far (the total is only known at the end); the
    // reporter keeps it to one event every 2 s. One stream, hashed once, to
    // every store asked for.
    const tap = new Sha256Tap((n) => reporter.progress("archive", n, undefined));
    const outs: Writable[] = [];
    const jobs: Array<Promise<unknown>> = [tar];
    const stop = (err: Error) => {
      tar.kill();
      for (const w of outs) w.destroy(err);
    };
    if (sysimgs) {
      const file = createWriteStream(partialOf(sysimgs, name!), { flags: "wx", mode: 0o600 });
      file.on("error", stop);
      outs.push(file);
      jobs.push(finished(file));
    }
    let put: Promise<{ status: number; body: string }> | undefined;
    if (to.includes("server")) {
      const body = new PassThrough();
      outs.push(body);
      put = putStream(`${base}/sysimg`, body);
      put.catch(stop);
      jobs.push(put);
    }
    tar.stdout!.pipe(tap);
    for (const w of outs) tap.pipe(w);
    try {
      await Promise.all(jobs);
    } catch (err) {
      if (sysimgs) await rm(partialOf(sysimgs, name!), { force: true });
      throw err;
    }
    const mine = tap.sha256();
    const bytes = tap.bytes;
    reporter.emit({
      kind: "step-end",
      step: "archive",
      message: `${bytes} bytes (filesystem: ${used} bytes used), sha256 ${mine}`,
    });

    let image = name;
    reporter.emit({
      kind: "step-start",
      step: "commit",
      message: `${name ?? "image"} to ${where}`,
    });
    if (put) {
      const answer = await put;
      if (answer.status !== 200)
        throw new Error(`PUT ${base}/sysimg: HTTP ${answer.status} ${answer.body}`);
      image ??= (JSON.parse(answer.body) as { name: string }).name;
      const res = await f(`${base}/sysimg/commit`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sha256: mine, source }),
      });
      if (!res.ok) throw new Error(`commit ${image}: HTTP ${res.status} ${await res.text()}`);
    }
    let kept: SysimgMeta[] = [];
    if (sysimgs) {
      const specSha256 = await readFile(
        join(dir, INSTALLED_STATE, INSTALL_SPEC_SHA256_FILE),
        "utf8",
      ).then(
        (t) => t.trim(),
        () => undefined,
      );
      await commitHome(sysimgs, {
        name: image!,
        host: spec.host,
        bytes,
        sha256: mine,
        created: new Date().toISOString(),
        source,
        ...(specSha256 ? { installSpecSha256: specSha256 } : {}),
        ...(found.ramImage ? { ramImage: found.ramImage } : {}),
      });
      if (spec.sysimgs.keep !== undefined) {
        const removed = await pruneHome(sysimgs, spec.sysimgs.keep, new Set([image!]));
        if (removed.length)
          reporter.emit({
            kind: "log",
            step: "commit",
            message: `sysimgs.keep ${spec.sysimgs.keep}: removed ${removed.join(", ")} from /home`,
          });
      }
      kept = (await listHome(sysimgs)).images;
      await reportHomeSysimgs(f, o.server, o.token, kept);
    }
    reporter.emit({ kind: "step-end", step: "commit" });
    await unmountAll();
    reporter.emit({
      kind: "run-done",
      step: "capture",
      message: `captured ${root.path} as ${image} to ${where} (${bytes} bytes, sha256 ${mine})`,
      summary: {
        image,
        bytes,
        sha256: mine,
        source,
        stores: to,
        ...(sysimgs ? { home: kept.map((i) => i.name) } : {}),
      },
    });
    await reporter.flush();
  } catch (err) {
    await unmountAll();
    const cause = (err as Error).cause;
    const why = cause instanceof Error ? `: ${cause.message}` : "";
    return fail("capture", `${(err as Error).message}${why}`, 1);
  }
  if (o.reboot) {
    o.write?.("automagic-install: capture stored; rebooting");
    await runner.run(["reboot"]);
  }
  return 0;
}

/** Spec, root, /home device and the run's name and stores; throws (a refusal) before anything is mounted. */
async function findParts(o: CaptureOptions, f: typeof fetch, runner: CommandRunner) {
  const spec = await loadSpec({ server: o.server, token: o.token }, f);
  const probe = await probeSystem(spec, {
    runner,
    downloads: "skip",
    ...(o.devices ? { devices: o.devices } : {}),
  });
  const root = findCaptureRoot(spec, probe, await captureLabel(spec, probe, runner));
  const run = spec.run?.capture;
  const to = run?.to ?? ["server"];
  let home: string | undefined;
  if (to.includes("home")) {
    if (!run?.name) throw new Error("the server named no image for a capture to /home");
    const part = findPartition(spec.home.ref, probe, "home.ref", { wholeDisk: true }).part;
    if (part.mountpoints.length)
      throw new Error(`${part.path} (/home) is mounted at ${part.mountpoints.join(", ")}`);
    home = part.path;
  }
  return { spec, root, home, to, name: run?.name, ramImage: run?.ramImage };
}

async function usedBytes(runner: CommandRunner, dir: string): Promise<number> {
  const out = await runner.run(["df", "-B1", "--output=used", dir]).catch(() => undefined);
  return Number(out?.stdout.trim().split("\n")[1] ?? 0);
}

/**
 * The root's filesystem label: gentoo-root, or under layout ab the slot
 * ab_default names, read from the shared partition mounted read-only.
 */
async function captureLabel(
  spec: InstallSpec,
  probe: ProbedSystem,
  runner: CommandRunner,
): Promise<string> {
  if (spec.layout.mode !== "ab") return ROOT_FS_LABEL;
  const shared = findAbShared(spec, probe);
  const env = await roMount(runner, shared.path, shared.fstype, "/run/automagic", (dir) =>
    readFile(join(dir, SHARED_GRUBENV)).then(parseGrubEnv, () => undefined),
  );
  return abCaptureLabel(env, shared.path);
}
