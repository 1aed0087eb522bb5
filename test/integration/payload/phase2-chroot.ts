// Phase 2 of an installed loop-disk root through chroot, for the installer
// tests: what the first boot would run, minus the boot. Run it inside
// `unshare --mount --propagation private` (run.ts): every mount made here
// dies with that namespace even if this process is killed.
//   node --import tsx phase2-chroot.ts <root dev> <home dev> <home options> <dir>
// Mounts the root at <dir>, /home as the installed fstab would, proc, sys
// and dev like the Handbook's chroot, reads the server URL and phase-2 token
// phase 1 stored, and runs the payload's phase-2 entry against <dir>.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runPhase2Cli } from "../../../payload/phase2-cli.ts";
import { INSTALLED_STATE } from "../../../payload/steps/finish.ts";
import { FIRSTBOOT_SERVER_FILE, FIRSTBOOT_TOKEN_FILE } from "../../../payload/phase2/firstboot.ts";

const [rootDev, homeDev, homeOptions, dir] = process.argv.slice(2);
if (!rootDev || !homeDev || !homeOptions || !dir) {
  process.stderr.write("usage: phase2-chroot.ts <root dev> <home dev> <home options> <dir>\n");
  process.exit(2);
}
const mount = (...args: string[]) => execFileSync("mount", args, { stdio: "inherit" });
mkdirSync(dir, { recursive: true });
let code = 1;
try {
  mount(rootDev, dir);
  mount("-o", homeOptions, homeDev, join(dir, "home"));
  mount("-t", "proc", "proc", join(dir, "proc"));
  for (const d of ["sys", "dev"]) {
    mount("--rbind", `/${d}`, join(dir, d));
    mount("--make-rslave", join(dir, d));
  }
  const state = (f: string) => readFileSync(join(dir, INSTALLED_STATE, f), "utf8").trim();
  code = await runPhase2Cli({
    server: state(FIRSTBOOT_SERVER_FILE),
    token: state(FIRSTBOOT_TOKEN_FILE),
    root: dir,
  });
} finally {
  try {
    execFileSync("umount", ["-R", dir], { stdio: "inherit" });
  } catch {
    execFileSync("umount", ["-R", "-l", dir]);
  }
}
process.exitCode = code;
