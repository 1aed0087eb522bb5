// automagic-install --action capture: archive the installed root to the
// server (DESIGN.md "Images"). Read-only on every disk: the root is found by
// its label (plan/capture-root.ts), mounted read-only, and streamed as
// tar + zstd (xattrs, numeric owners) while it is hashed; the server keeps it
// only when its sha256 equals ours (server/sysimgs/store.ts). A filesystem
// archive, not a partition image: only used blocks travel, and it restores
// onto any partition large enough.
import { mkdir } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { execa } from "execa";
import { loadSpec } from "./install.ts";
import { findCaptureRoot } from "./plan/capture-root.ts";
import { probeSystem } from "./probe/index.ts";
import { Reporter } from "./run/reporter.ts";
import { Sha256Tap } from "../shared/hash.ts";
import { execaRunner, type CommandRunner } from "./run/runner.ts";

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

/** Exit code: 0 stored, 1 a step failed, 2 refused (no root to capture, bad spec). */
export async function runCapture(o: CaptureOptions): Promise<number> {
  const f = o.fetch ?? fetch;
  const runner = o.runner ?? execaRunner();
  const base = `${o.server.replace(/\/+$/, "")}/api/v1/run/${encodeURIComponent(o.token)}`;
  const reporter = new Reporter({
    phase: 1,
    fetch: f,
    server: o.server,
    token: o.token,
    ...(o.write ? { write: o.write } : {}),
  });
  const fail = async (step: string, message: string, code: number) => {
    reporter.emit({ kind: "step-fail", step, message });
    await reporter.flush();
    return code;
  };
  reporter.emit({ kind: "run-start", message: "AUTOMAGIC-PAYLOAD-START" });
  let root;
  let spec;
  try {
    spec = await loadSpec({ server: o.server, token: o.token }, f);
    const probe = await probeSystem(spec, {
      runner,
      downloads: "skip",
      ...(o.devices ? { devices: o.devices } : {}),
    });
    root = findCaptureRoot(spec, probe);
  } catch (err) {
    return fail("find-root", `refused: ${(err as Error).message}`, 2);
  }
  const dir = o.mountDir ?? "/run/automagic/capture-root";
  const source = { device: root.path, fstype: root.fstype, host: spec.host, init: spec.init };
  let mounted = false;
  try {
    reporter.emit({
      kind: "step-start",
      step: "mount",
      message: `${root.path} read-only at ${dir}`,
    });
    await mkdir(dir, { recursive: true });
    // Plain ro, not ro,noload as for the keep-list (fetch.ts): an ext4 left
    // unclean by a crash gets its journal replayed, so the archive is a
    // consistent filesystem. A cleanly shut down root is not written at all
    // (the e2e compares the disk's sha256 before and after).
    await runner.run(["mount", "-o", "ro", root.path, dir]);
    mounted = true;
    reporter.emit({ kind: "step-end", step: "mount" });

    reporter.emit({ kind: "step-start", step: "archive", message: `tar + zstd of ${root.path}` });
    const used = await usedBytes(runner, dir);
    const tar = execa(TAR_CREATE[0]!, [...TAR_CREATE.slice(1), "-f", "-", "-C", dir, "."], {
      buffer: false,
      stderr: "pipe",
    });
    // Compressed bytes sent so far (the total is only known at the end); the
    // reporter keeps it to one event every 2 s.
    const tap = new Sha256Tap((n) => reporter.progress("archive", n, undefined));
    const [put] = await Promise.all([putStream(`${base}/sysimg`, tar.stdout!.pipe(tap)), tar]);
    if (put.status !== 200) throw new Error(`PUT ${base}/sysimg: HTTP ${put.status} ${put.body}`);
    const uploaded = JSON.parse(put.body) as { name: string; bytes: number; sha256: string };
    const mine = tap.sha256();
    const bytes = tap.bytes;
    reporter.emit({
      kind: "step-end",
      step: "archive",
      message: `${bytes} bytes (filesystem: ${used} bytes used), sha256 ${mine}`,
    });

    reporter.emit({ kind: "step-start", step: "commit", message: uploaded.name });
    const res = await f(`${base}/sysimg/commit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sha256: mine, source }),
    });
    if (!res.ok) throw new Error(`commit ${uploaded.name}: HTTP ${res.status} ${await res.text()}`);
    reporter.emit({ kind: "step-end", step: "commit" });
    await runner.run(["umount", dir]);
    mounted = false;
    reporter.emit({
      kind: "run-done",
      step: "capture",
      message: `captured ${root.path} as ${uploaded.name} (${bytes} bytes, sha256 ${mine})`,
      summary: { image: uploaded.name, bytes, sha256: mine, source },
    });
    await reporter.flush();
  } catch (err) {
    if (mounted) await runner.run(["umount", dir]).catch(() => undefined);
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

async function usedBytes(runner: CommandRunner, dir: string): Promise<number> {
  const out = await runner.run(["df", "-B1", "--output=used", dir]).catch(() => undefined);
  return Number(out?.stdout.trim().split("\n")[1] ?? 0);
}
