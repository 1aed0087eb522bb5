// finish: the phase-2 first-boot hook, the token rotation, and a copy of this
// binary in the installed system.
import { chmod, copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import {
  FIRSTBOOT_SERVER_FILE,
  FIRSTBOOT_TOKEN_FILE,
  renderFirstBoot,
} from "../phase2/firstboot.ts";
import type { Handler } from "../run/executor.ts";
import { inChroot } from "../run/runner.ts";
import { inTarget, writeTargetFile } from "./target-fs.ts";

export const INSTALLED_BINARY = "/usr/local/sbin/automagic-install";
export const INSTALLED_STATE = "/var/lib/automagic";

export const firstBoot: Handler<"first-boot"> = async (a, ctx) => {
  const fb = renderFirstBoot(ctx.spec, { binaryPath: INSTALLED_BINARY, stateDir: INSTALLED_STATE });
  for (const f of fb.files) await writeTargetFile(a.target, f);
  const dest = inTarget(a.target, INSTALLED_BINARY);
  await mkdir(path.dirname(dest), { recursive: true });
  await copyFile(ctx.selfBinary, dest);
  await chmod(dest, 0o755);
  if (fb.enable.openrc)
    await ctx.runner.run(inChroot(a.target, ["rc-update", ...fb.enable.openrc]));
  if (fb.enable.systemd)
    await ctx.runner.run(inChroot(a.target, ["systemctl", ...fb.enable.systemd]));
};

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
