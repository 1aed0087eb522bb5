// finish: the phase-2 first-boot hook, the token rotation, and a copy of this
// binary in the installed system.
import { createHash } from "node:crypto";
import { chmod, copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import {
  FIRSTBOOT_SERVER_FILE,
  FIRSTBOOT_TOKEN_FILE,
  NETBOOT_ENTRY_FILE,
  renderFirstBoot,
} from "../phase2/firstboot.ts";
import type { Handler } from "../run/executor.ts";
import { inChroot } from "../run/runner.ts";
import { inTarget, writeTargetFile } from "./target-fs.ts";

export const INSTALLED_BINARY = "/usr/local/sbin/automagic-install";
export const INSTALLED_STATE = "/var/lib/automagic";
/** sha256 of the install spec (JSON) this system was installed from. */
export const INSTALL_SPEC_SHA256_FILE = "install-spec.sha256";

export const firstBoot: Handler<"first-boot"> = async (a, ctx) => {
  const fb = renderFirstBoot(ctx.spec, { binaryPath: INSTALLED_BINARY, stateDir: INSTALLED_STATE });
  for (const f of fb.files) await writeTargetFile(a.target, f);
  const dest = inTarget(a.target, INSTALLED_BINARY);
  await mkdir(path.dirname(dest), { recursive: true });
  await copyFile(ctx.selfBinary, dest);
  await chmod(dest, 0o755);
  if (ctx.spec.firmware === "uefi") await recordNetbootEntry(a.target, ctx);
  // A capture of this system names the spec it was installed from (payload/sysimg/home.ts).
  await mkdir(inTarget(a.target, INSTALLED_STATE), { recursive: true, mode: 0o700 });
  await writeTargetFile(a.target, {
    path: `${INSTALLED_STATE}/${INSTALL_SPEC_SHA256_FILE}`,
    content: `${createHash("sha256").update(JSON.stringify(ctx.spec)).digest("hex")}\n`,
    mode: 0o644,
  });
  if (fb.enable.openrc)
    await ctx.runner.run(inChroot(a.target, ["rc-update", ...fb.enable.openrc]));
  if (fb.enable.systemd)
    await ctx.runner.run(inChroot(a.target, ["systemctl", ...fb.enable.systemd]));
};

/**
 * UEFI: the entry this RAM system was netbooted from (BootCurrent), so a
 * capture after phase 2 can set BootNext to it (phase2/firstboot.ts). Best
 * effort: without it the capture waits for a netboot someone else starts.
 */
async function recordNetbootEntry(target: string, ctx: Parameters<Handler<"first-boot">>[1]) {
  const out = await ctx.runner.run(["efibootmgr"]).catch(() => undefined);
  const entry = /^BootCurrent:\s*([0-9A-Fa-f]{4})$/m.exec(out?.stdout ?? "")?.[1];
  if (!entry) {
    ctx.log(
      "efibootmgr shows no BootCurrent: a capture after phase 2 needs the machine to netboot by itself",
    );
    return;
  }
  await mkdir(inTarget(target, INSTALLED_STATE), { recursive: true, mode: 0o700 });
  await writeTargetFile(target, {
    path: `${INSTALLED_STATE}/${NETBOOT_ENTRY_FILE}`,
    content: `${entry}\n`,
    mode: 0o644,
  });
}

const rotated = z.object({ token: z.string().min(8) });

export const rotateToken: Handler<"rotate-token"> = async (a, ctx) => {
  if (!ctx.server || !ctx.token) {
    ctx.log("no server/token (a --spec run): phase 2 will have nothing to report to");
    return;
  }
  // Whatever is queued goes out under the phase-1 token before rotation revokes it.
  await ctx.reporter.flush();
  const url = `${ctx.server.replace(/\/+$/, "")}/api/v1/run/${encodeURIComponent(ctx.token)}/phase2`;
  let body: unknown;
  for (let i = 0; ; i++) {
    try {
      const res = await ctx.fetch(url, { method: "POST" });
      if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status}`);
      body = await res.json();
      break;
    } catch (err) {
      if (i >= 4) throw new Error(`rotating to the phase-2 token failed`, { cause: err });
      await new Promise((r) => setTimeout(r, 500 * 2 ** i));
    }
  }
  const r = rotated.safeParse(body);
  if (!r.success)
    throw new Error(`POST ${url}: answer is not {token}: ${JSON.stringify(body).slice(0, 200)}`);
  ctx.phase2Token = r.data.token;
  ctx.reporter.useToken(r.data.token);
  await mkdir(inTarget(a.target, INSTALLED_STATE), { recursive: true, mode: 0o700 });
  await writeTargetFile(a.target, {
    path: `${INSTALLED_STATE}/${FIRSTBOOT_TOKEN_FILE}`,
    content: r.data.token + "\n",
    mode: 0o600,
  });
  await writeTargetFile(a.target, {
    path: `${INSTALLED_STATE}/${FIRSTBOOT_SERVER_FILE}`,
    content: ctx.server + "\n",
    mode: 0o644,
  });
};
