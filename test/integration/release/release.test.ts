// `make release` as an operator gets it: the tarball is unpacked and
// installed (its install.sh) inside a root that has the host's /usr mounted
// read-only and nothing of this checkout, the systemd unit's ExecStart runs
// there with a clean environment and the default /etc/automagic/serve.yaml,
// and a machine's boot script comes back over HTTP. The CLI in that root arms
// the machine first, through the admin API and the token file. Mounts live
// in private mount namespaces (unshare -m), so they end with the processes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  appendFileSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { freePort } from "../control/serve-process.ts";
import { buildRelease, CLEAN_ENV, installLine, makeRoot, REPO } from "./root.ts";

const MAC = "02:00:00:00:00:01"; // the example host `automagic init` writes

let root = "";
let tarball = "";
let serve: ResultPromise | undefined;
let log = "";

/** bash in a private mount namespace with the host's /usr (read-only), /dev, /proc under `root`. */
function inRoot(script: string) {
  const mounts = [
    `mount --rbind /dev ${root}/dev`,
    `mount --bind /usr ${root}/usr`,
    `mount -o remount,bind,ro ${root}/usr`,
    `mount -t proc proc ${root}/proc`,
  ].join(" && ");
  return ["unshare", "--mount", "--propagation", "private", "bash", "-ec", `${mounts}\n${script}`];
}

/** A command inside the running server's namespace and root, as root with a clean environment. */
async function inServer(args: string[]) {
  return execa("nsenter", ["-t", String(serve!.pid), "-m", "-r", "-w", ...CLEAN_ENV, ...args], {
    reject: false,
  });
}

before(async () => {
  tarball = await buildRelease();
  root = makeRoot("am-release-root", tarball);
});

after(async () => {
  if (serve && serve.exitCode === null) {
    serve.kill("SIGTERM");
    await serve;
  }
  // Never rm through a mount that is still there (it would be the host's /usr).
  const mounted = readFileSync("/proc/self/mountinfo", "utf8").includes(` ${root}/`);
  if (root && !mounted) rmSync(root, { recursive: true, force: true });
});

test("the release installs, its unit verifies and its ExecStart serves boot scripts outside the checkout", async () => {
  // install.sh inside the root: /opt/automagic, a starter /etc/automagic
  const install = inRoot(
    `chroot ${root} ${CLEAN_ENV.join(" ")} BINDIR=/opt/bin bash -ec '${installLine(tarball)}'`,
  );
  const inst = await execa(install[0]!, install.slice(1), { reject: false, all: true });
  assert.equal(inst.exitCode, 0, inst.all);
  assert.match(inst.all!, /installed 0\.\d+\.\d+ in \/opt\/automagic/);
  // Again, as an upgrade: the program is replaced, the config is kept.
  const etc = join(root, "etc/automagic");
  writeFileSync(
    join(etc, "serve.yaml"),
    `# the operator's\n${readFileSync(join(etc, "serve.yaml"))}`,
  );
  const again = await execa(install[0]!, install.slice(1), { reject: false, all: true });
  assert.equal(again.exitCode, 0, again.all);
  assert.match(readFileSync(join(etc, "serve.yaml"), "utf8"), /^# the operator's\n/);

  // The unit as systemd reads it, with the installed tree where it names it.
  const unitFile = join(root, "etc/systemd/system/automagic.service");
  const verify = await execa(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "bash",
      "-ec",
      `mount --bind ${root}/opt /opt && systemd-analyze verify ${unitFile}`,
    ],
    { reject: false, all: true },
  );
  assert.equal(verify.exitCode, 0, verify.all);
  // systemd's own exposure score (0 best, 10 worst): 2.6 (pidfd_getfd counts as @debug); 3.0 fails.
  const score = await execa(
    "systemd-analyze",
    ["security", "--offline=yes", "--threshold=30", unitFile],
    { reject: false, all: true },
  );
  assert.equal(score.exitCode, 0, score.all);
  const execStart = /^ExecStart=(.+)$/m.exec(readFileSync(unitFile, "utf8"))![1]!;

  // The operator's part: ports, one netboot image, the example host allowed from loopback.
  const [http, tftp] = [await freePort(), await freePort()];
  appendFileSync(join(etc, "serve.yaml"), `http: { port: ${http} }\ntftp: { port: ${tftp} }\n`);
  appendFileSync(join(etc, "hosts/example.yaml"), `netboot:\n  allowFrom: ["127.0.0.1"]\n`);
  const images = join(root, "var/lib/automagic/images");
  mkdirSync(join(images, "r1"), { recursive: true });
  writeFileSync(join(images, "r1/vmlinuz"), "kernel");
  writeFileSync(join(images, "r1/initrd.img"), Buffer.alloc(4096, 1));
  symlinkSync("r1", join(images, "current"));

  // ExecStart, exec'd (this pid becomes node), in a clean environment as systemd gives it.
  const cmd = inRoot(`exec chroot ${root} ${CLEAN_ENV.join(" ")} ${execStart}`);
  serve = execa(cmd[0]!, cmd.slice(1), { reject: false, all: true, buffer: false });
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`serve did not start:\n${log}`)), 20_000);
    serve!.all!.on("data", (c: Buffer) => {
      log += c.toString();
      if (log.includes('"msg":"http: serving"')) {
        clearTimeout(timer);
        res();
      }
    });
    // reject: false, so serve never rejects: it resolves when it exits.
    void serve!.then(() => rej(new Error(`serve exited:\n${log}`)));
  });
  assert.match(log, /"config":"\/etc\/automagic\/serve.yaml","msg":"config: read"/);
  assert.match(log, /"tokenFile":"\/var\/lib\/automagic\/admin-token"/);
  // Nothing of the checkout is loaded: the native module is the installed one.
  const maps = readFileSync(`/proc/${serve.pid}/maps`, "utf8");
  assert.ok(!maps.includes(REPO), "a file of the checkout is mapped");
  assert.match(
    maps,
    /\/opt\/automagic\/node_modules\/better-sqlite3\/build\/Release\/better_sqlite3\.node/,
  );
  const hidden = await inServer(["/bin/sh", "-c", `test ! -e ${REPO} && test ! -e /work`]);
  assert.equal(hidden.exitCode, 0, "the checkout is visible in the root");

  const help = await inServer(["/opt/bin/automagic", "--help"]);
  assert.equal(help.exitCode, 0, help.stderr);
  assert.match(help.stdout, /Usage: automagic/);
  assert.match(help.stdout, /serve/);

  const url = `http://127.0.0.1:${http}`;
  const arm = await inServer(["/opt/bin/automagic", "next", "example", "install", "--server", url]);
  assert.equal(arm.exitCode, 0, `${arm.stderr}\n${log}`);
  const res = await fetch(`${url}/boot.ipxe?mac=${MAC}`);
  assert.equal(res.status, 200);
  const script = await res.text();
  assert.match(script, /^#!ipxe/);
  assert.match(script, /automagic\.action=install/, script);
  assert.match(script, /automagic\.token=/, script);

  const validate = await inServer([
    "/opt/bin/automagic",
    "hosts",
    "validate",
    "/etc/automagic/hosts",
  ]);
  assert.equal(validate.exitCode, 0, validate.stderr);
});
