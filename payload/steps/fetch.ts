// prepare: fetch+verify into the staging area, and read the keep-list from
// the old root mounted read-only. Nothing is written to any disk here
// (staging on /home writes only inside /home/.automagic-staging).
import { readOnlyOptions } from "../probe/index.ts";
import { mkdir, readFile, readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { fetchSnapshot, fetchStage3 } from "../../shared/verify/index.ts";
import { parseShadow, usableHash } from "../keep/accounts.ts";
import type { Handler } from "../run/executor.ts";
import type { RunContext } from "../run/context.ts";
import type { StagingChoice } from "../plan/types.ts";

/** Makes the staging directory (mounting /home beside the RAM system if it is there). */
export async function openStaging(
  staging: StagingChoice,
  ctx: RunContext,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = staging.dir;
  let homeMount: string | undefined;
  if (staging.where === "home") {
    // The /home filesystem is mounted just for staging, beside the RAM system.
    homeMount = path.dirname(dir);
    await mkdir(homeMount, { recursive: true });
    const home = ctx.probe.home?.device;
    if (!home) throw new Error("staging on /home but the probe found no /home partition");
    await ctx.runner.run(["mount", home, homeMount]);
  }
  await mkdir(dir, { recursive: true });
  return {
    dir,
    cleanup: async () => {
      await rm(dir, { recursive: true, force: true });
      if (homeMount) await ctx.runner.run(["umount", homeMount]);
      homeMount = undefined; // idempotent: cleanup runs after portage and again on failure
    },
  };
}

/**
 * The run token, for our own server's mirror only: it fetches a stage3
 * variant no host file uses (any more) only for a valid token
 * (server/mirror/gate.ts). A mirror elsewhere never sees the token.
 */
export function mirrorAuth(
  mirror: string,
  server: string | undefined,
  token: string | undefined,
): Record<string, string> | undefined {
  if (!server || !token || !mirror.startsWith(`${server.replace(/\/+$/, "")}/`)) return undefined;
  return { authorization: `Bearer ${token}` };
}

export const fetchVerify: Handler<"fetch-verify"> = async (a, ctx) => {
  const { dir, cleanup } = await openStaging(a.staging, ctx);
  const onProgress = (file: string, done: number, total: number | undefined) =>
    ctx.reporter.progress(`${ctx.step}:${path.basename(file)}`, done, total);
  const headers = mirrorAuth(a.mirror, ctx.server, ctx.token);
  const common = {
    mirror: a.mirror,
    trustedKeys: a.trustedKeys,
    destDir: dir,
    onProgress,
    ...(headers ? { download: { headers } } : {}),
  };
  const stage3 = await fetchStage3(a.variant, common);
  ctx.log(
    `stage3 ${stage3.pointer.fileName}: ${stage3.bytes} bytes, signed by ${stage3.signature.primaryFingerprint}, SHA512 ok`,
  );
  // Real Gentoo signs snapshots with its snapshot key: the spec's trustedKeys must list it too.
  const snap = await fetchSnapshot({ ...common, destDir: path.join(dir, "snapshot") });
  ctx.log(`snapshot: ${snap.bytes} bytes, signature ok`);
  ctx.staged = {
    stage3: stage3.tarball,
    stage3Bytes: stage3.bytes,
    snapshot: snap.tarball,
    dir,
    cleanup,
  };
};

async function withReadOnly<T>(
  ctx: RunContext,
  device: string,
  fstype: string,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = path.join("/run/automagic", `ro-${path.basename(device)}-${process.pid}`);
  await mkdir(dir, { recursive: true });
  await ctx.runner.run(["mount", "-o", readOnlyOptions(fstype), device, dir]);
  try {
    return await fn(dir);
  } finally {
    await ctx.runner.run(["umount", dir]);
    await rm(dir, { recursive: true, force: true });
  }
}

export { withReadOnly };

export const readKeepList: Handler<"read-keep-list"> = async (a, ctx) => {
  const read = (fn: (dir: string) => Promise<void>) =>
    a.mountedAt ? fn(a.mountedAt) : withReadOnly(ctx, a.device, a.fstype, fn);
  await read(async (dir) => {
    if (a.passwords.length) {
      const shadow = parseShadow(
        await readFile(path.join(dir, "etc/shadow"), "utf8"),
        `${a.device}:/etc/shadow`,
      );
      for (const name of a.passwords) {
        const e = shadow.find((s) => s.name === name);
        if (!e || !usableHash(e.hash))
          throw new Error(`${a.device}:/etc/shadow: no usable password hash for '${name}' to keep`);
        ctx.kept.hashes[name] = e.hash;
      }
    }
    if (a.sshHostKeys) {
      const sshDir = path.join(dir, "etc/ssh");
      for (const name of (await readdir(sshDir))
        .filter((n) => /^ssh_host_\w+_key(\.pub)?$/.test(n))
        .sort()) {
        const p = path.join(sshDir, name);
        const st = await stat(p);
        ctx.kept.hostKeys.push({ name, mode: st.mode & 0o777, data: await readFile(p) });
      }
      if (!ctx.kept.hostKeys.some((k) => k.name.endsWith("_key")))
        throw new Error(`${a.device}:/etc/ssh: no ssh_host_*_key to keep`);
    }
  });
  ctx.log(
    `kept: ${Object.keys(ctx.kept.hashes).length} password hash(es), ${ctx.kept.hostKeys.length} SSH host key file(s)`,
  );
};
