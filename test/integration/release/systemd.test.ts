// The release's unit under a real systemd: a container (systemd-nspawn -b)
// boots systemd as its PID 1 in a small root that sees the host's /usr
// read-only, with the test net's server namespace as its network. The
// tarball's install.sh runs inside, then `systemctl enable --now
// automagic`; the CLI arms the example host there, and a machine in the
// client namespace netboots from the service (udhcpc, tftp, curl) up to its
// install script. What systemd applies is then read from the running
// service: its capabilities, no new privileges and a seccomp filter in
// /proc/PID/status, the read-only system and hidden /root and /tmp from its
// own mount namespace, the state folder systemd made.
//
// This host (PID 1 is not systemd, cgroups in the hybrid layout, /run not a
// tmpfs) needs: the container in a cgroup of its own (made and removed here,
// in both the unified and the name=systemd hierarchy when the host is
// hybrid) with SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 (systemd 252 inside mounts
// only cgroup2); --keep-unit --register=no (no host systemd or machined to
// ask for a scope); a tmpfs on /run/systemd/nspawn in a private mount
// namespace (nspawn refuses to clean its propagation folder on a disk), and
// /sys read-only there (else nspawn waits for a udev that is not running to
// initialize the veth it moves into the container).
// nspawn's own seccomp filter refuses pidfd_getfd, which a machine has no
// reason to (--system-call-filter adds it back): the unit's filter is then
// the only one in the way, as on a real machine.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { randomBytes } from "node:crypto";
import { execa, type ResultPromise } from "execa";
import {
  createNamespace,
  deleteNamespace,
  ip,
  nsExec,
  uniqueName,
  type TestNet,
} from "../../lib/netns.ts";
import { requireTool } from "../../lib/tools.ts";
import { waitFor } from "../../lib/wait.ts";
import { BIOS_PXE, netboot, setMac } from "../control/netboot-client.ts";
import { buildRelease, CLEAN_ENV, installLine, makeRoot } from "./root.ts";

const MAC = "02:00:00:00:00:01"; // the example host `automagic init` writes
const SERVER = "http://10.77.0.1:8080";
// CAP_NET_BIND_SERVICE (10), CAP_NET_RAW (13), CAP_SYS_PTRACE (19): the unit's bounding set.
const UNIT_CAPS = ((1n << 10n) | (1n << 13n) | (1n << 19n)).toString(16).padStart(16, "0");

let tarball = "";
let root = "";
let dir = "";
let net: TestNet | undefined;
let nspawn: ResultPromise | undefined;
let console_ = "";
let pid1 = 0;
const cgroups: string[] = [];

/** Where this container's cgroup goes: cgroup2, and name=systemd too on a hybrid host. */
function cgroupDirs(name: string): string[] {
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return [`/sys/fs/cgroup/${name}`];
  return [`/sys/fs/cgroup/unified/${name}`, `/sys/fs/cgroup/systemd/${name}`];
}

/** A command inside the container (all its namespaces), as root with a clean environment. */
function inContainer(args: string[], timeout?: number) {
  return execa("nsenter", ["-t", String(pid1), "-a", ...CLEAN_ENV, ...args], {
    reject: false,
    all: true,
    timeout,
  });
}

/** The same, in the service's own mount namespace (what it sees of the file system). */
function asService(mainPid: string, script: string) {
  return inContainer(["nsenter", "-t", mainPid, "-m", "/bin/sh", "-c", script]);
}

async function journal(unit?: string): Promise<string> {
  const r = await inContainer([
    "journalctl",
    "--no-pager",
    "-n",
    "60",
    ...(unit ? ["-u", unit] : []),
  ]);
  return `--- journal ---\n${r.all}\n--- console ---\n${console_.slice(-4000)}`;
}

/** The container's PID 1 (systemd), a child of nspawn. */
function waitForInit(nspawnPid: number): Promise<number> {
  return waitFor(
    "systemd-nspawn booting systemd",
    () => {
      if (nspawn!.exitCode !== null)
        throw new Error(`systemd-nspawn exited (${nspawn!.exitCode}):\n${console_}`);
      const kids = readFileSync(`/proc/${nspawnPid}/task/${nspawnPid}/children`, "utf8");
      const init = kids
        .split(/\s+/)
        .find((k) => k && readFileSync(`/proc/${k}/comm`, "utf8") === "systemd\n");
      return init ? Number(init) : undefined;
    },
    { timeoutMs: 30_000, everyMs: 100, last: () => console_ },
  );
}

/** waitFor, and the container's journal when it gives up. */
async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  last?: () => string,
): Promise<T> {
  try {
    return await waitFor(what, check, { timeoutMs, everyMs: 250, ...(last ? { last } : {}) });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await journal()}`, { cause: err });
  }
}

/**
 * The test net: a client namespace, and the server end of its veth handed to
 * the container (--network-interface), which becomes its srv0 there. nspawn
 * mounts the container's /sys from the container's own network namespace
 * only when it made that namespace (not with --network-namespace-path), and
 * serve reads srv0's MTU from /sys.
 */
async function containerNet(): Promise<TestNet> {
  const client = `${uniqueName("am-sysd")}-c`;
  const serverIf = `vs${process.pid % 100000}`;
  await createNamespace(client);
  const n: TestNet = {
    server: "",
    client,
    serverIf,
    clientIf: "cli0",
    serverIp: "10.77.0.1",
    prefixLen: 24,
    subnet: "10.77.0.0",
    inServer: (cmd, args = [], o = {}) =>
      execa("nsenter", ["-t", String(pid1), "-n", cmd, ...args], o),
    inClient: (cmd, args = [], o = {}) => nsExec(client, cmd, args, o),
    close: () => deleteNamespace(client),
  };
  try {
    await ip(["link", "add", serverIf, "type", "veth", "peer", "name", `${serverIf}c`]);
    await ip(["link", "set", `${serverIf}c`, "netns", client]);
    await n.inClient("ip", ["link", "set", `${serverIf}c`, "name", "cli0"]);
    await n.inClient("ip", ["link", "set", "cli0", "up"]);
  } catch (err) {
    await ip(["link", "del", serverIf]).catch(() => undefined);
    await n.close();
    throw err;
  }
  return n;
}

before(async () => {
  for (const t of ["systemd-nspawn", "nsenter", "unshare", "udhcpc", "tftp", "curl"])
    requireTool(t);
  tarball = await buildRelease();
  root = makeRoot("am-systemd-root", tarball, "root");
  dir = mkdtempSync(join(tmpdir(), "am-systemd-client-"));
  // What nspawn needs to call `root` an OS tree and boot it: os-release and
  // a machine ID (without one, systemd's first boot applies every preset of
  // the host's /usr). dbus and logind: not in a server's minimal root.
  mkdirSync(join(root, "srv/automagic/images/r1"), { recursive: true });
  writeFileSync(join(root, "etc/os-release"), readFileSync("/usr/lib/os-release"));
  writeFileSync(join(root, "etc/group"), "root:x:0:\n");
  writeFileSync(join(root, "etc/machine-id"), `${randomBytes(16).toString("hex")}\n`);
  mkdirSync(join(root, "etc/systemd/system"), { recursive: true });
  for (const u of ["dbus.service", "dbus.socket", "systemd-logind.service"])
    symlinkSync("/dev/null", join(root, "etc/systemd/system", u));

  net = await containerNet();
  const name = basename(root);
  cgroups.push(...cgroupDirs(name));
  for (const d of cgroups) mkdirSync(d);
  const script = [
    "mkdir -p /run/systemd/nspawn",
    "mount -t tmpfs tmpfs /run/systemd/nspawn",
    // nspawn asks udev whether the interface it moves is initialized when /sys
    // is writable; there is no udev here. Read-only, it does not ask.
    "mount -o remount,bind,ro /sys",
    ...cgroups.map((d) => `echo $$ > ${d}/cgroup.procs`),
    `exec systemd-nspawn --quiet -D ${root} --bind-ro=/usr --register=no --keep-unit ` +
      `--network-interface=${net.serverIf} --console=read-only ` +
      `--system-call-filter=pidfd_getfd -b systemd.unit=multi-user.target`,
  ].join("\n");
  nspawn = execa("unshare", ["--mount", "--propagation", "private", "bash", "-ec", script], {
    env: { SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: "1" },
    all: true,
    buffer: false,
    reject: false,
    stdin: "ignore",
  });
  nspawn.all!.on("data", (c: Buffer) => (console_ += c.toString()));
  pid1 = await waitForInit(nspawn.pid!);
  for (const a of [
    ["link", "set", net.serverIf, "name", "srv0"],
    ["addr", "add", "10.77.0.1/24", "dev", "srv0"],
    ["link", "set", "srv0", "up"],
  ]) {
    const r = await inContainer(["ip", ...a]);
    assert.equal(r.exitCode, 0, r.all);
  }
  const state = await until(
    "the container's systemd finishing its boot",
    async () => {
      const r = await inContainer(["systemctl", "is-system-running", "--wait"], 60_000);
      const s = String(r.stdout).trim();
      return ["running", "degraded"].includes(s) ? s : undefined;
    },
    60_000,
  );
  const failed = await inContainer(["systemctl", "--failed", "--no-legend", "--plain"]);
  assert.equal(state, "running", `boot ${state}:\n${failed.all}\n${await journal()}`);
});

after(async () => {
  if (nspawn && nspawn.exitCode === null) {
    nspawn.kill("SIGTERM"); // nspawn asks the container's systemd to halt
    const t = setTimeout(() => nspawn!.kill("SIGKILL"), 20_000);
    await nspawn;
    clearTimeout(t);
  }
  // Deepest first; systemd inside made its slices under ours.
  const rmTree = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory()) rmTree(join(d, e.name));
    rmdirSync(d);
  };
  for (const d of cgroups) rmTree(d);
  // The server end dies with the container's namespace; if nspawn never took it, here.
  if (net) await execa("ip", ["link", "del", net.serverIf], { reject: false });
  await net?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  // The container's mounts were in nspawn's namespace; never rm through one still there.
  const mounted = readFileSync("/proc/self/mountinfo", "utf8").includes(` ${root}/`);
  if (root && !mounted) rmSync(root, { recursive: true, force: true });
});

test("under systemd as PID 1 the release installs, starts, netboots a machine, and its sandbox holds", async () => {
  const inst = await inContainer(["BINDIR=/opt/bin", "bash", "-ec", installLine(tarball, "/root")]);
  assert.equal(inst.exitCode, 0, inst.all);
  assert.match(inst.all!, /installed 0\.\d+\.\d+ in \/opt\/automagic/);
  assert.ok(!existsSync(join(root, "var/lib/automagic")), "install.sh made the state folder");

  // The operator's part: DHCP (full) on the test net, the example host, one image.
  const yamlPath = join(root, "etc/automagic/serve.yaml");
  const yaml = readFileSync(yamlPath, "utf8");
  const edited = yaml
    .replace(/^listen: 127\.0\.0\.1$/m, "interface: srv0\nlisten: 10.77.0.1")
    .replace(
      /^ {2}mode: off$/m,
      "  mode: full\n  subnet: { network: 10.77.0.0, prefixLen: 24, poolStart: 10.77.0.100, poolEnd: 10.77.0.150 }",
    );
  assert.match(edited, /^interface: srv0$[^]*^ {2}mode: full$/m, "the starter serve.yaml changed");
  writeFileSync(yamlPath, `${edited}imagesDir: /srv/automagic/images\n`);
  const images = join(root, "srv/automagic/images");
  writeFileSync(join(images, "r1/vmlinuz"), "kernel");
  writeFileSync(join(images, "r1/initrd.img"), Buffer.alloc(4096, 1));
  symlinkSync("r1", join(images, "current"));

  const start = await inContainer(["systemctl", "enable", "--now", "automagic"]);
  assert.equal(start.exitCode, 0, `${start.all}\n${await journal("automagic")}`);
  await until(
    "systemctl is-active automagic",
    async () => {
      const r = await inContainer(["systemctl", "is-active", "automagic"]);
      return String(r.stdout).trim() === "active" ? true : undefined;
    },
    20_000,
  );
  // DHCP comes up last (after its probe for another server): /healthz is 200 then.
  let health = "";
  await until(
    "/healthz 200 from inside the container",
    async () => {
      const url = `${SERVER}/healthz`;
      const r = await inContainer(["curl", "-sS", "--max-time", "2", "-w", "\n%{http_code}", url]);
      health = r.all!;
      return /\n200$/.test(String(r.stdout)) ? true : undefined;
    },
    45_000,
    () => `last /healthz: ${health}`,
  );

  // The CLI inside arms the host (serve listens on srv0's address only, so the
  // CLI cannot find the token through loopback: the operator passes it); a
  // machine on the test net netboots to its install script.
  const arm = await inContainer([
    "bash",
    "-ec",
    "AUTOMAGIC_ADMIN_TOKEN=$(cat /var/lib/automagic/admin-token) " +
      `exec /opt/bin/automagic next example install --server ${SERVER}`,
  ]);
  assert.equal(arm.exitCode, 0, `${arm.all}\n${await journal("automagic")}`);
  await setMac(net!, MAC);
  const script = await netboot(net!, dir, BIOS_PXE, MAC);
  assert.match(script, /^#!ipxe/);
  assert.match(script, /automagic\.action=install/, script);
  assert.match(script, /automagic\.token=/, script);

  // What systemd applied, read from the running service.
  const mainPid = String(
    (await inContainer(["systemctl", "show", "-p", "MainPID", "--value", "automagic"])).stdout,
  ).trim();
  assert.match(mainPid, /^[1-9]\d*$/);
  const cmdline = await inContainer(["cat", `/proc/${mainPid}/cmdline`]);
  assert.match(
    String(cmdline.stdout),
    /node\0\/opt\/automagic\/bin\/\.\.\/lib\/automagic\.mjs\0serve/,
  );
  const status = String((await inContainer(["cat", `/proc/${mainPid}/status`])).stdout);
  const field = (k: string) => new RegExp(`^${k}:\\s+(\\S+)$`, "m").exec(status)?.[1];
  for (const k of ["CapEff", "CapPrm", "CapBnd"])
    assert.equal(field(k), UNIT_CAPS, `${k}\n${status}`);
  assert.equal(field("CapAmb"), "0000000000000000");
  assert.equal(field("NoNewPrivs"), "1");
  assert.equal(field("Seccomp"), "2"); // SystemCallFilter: a filter is loaded

  // ProtectSystem=strict: the root writable to the container, not to the service.
  for (const p of ["/etc/automagic", "/opt/automagic", "/var"]) {
    const w = await inContainer(["sh", "-c", `touch ${p}/.am-rw && rm ${p}/.am-rw`]);
    assert.equal(w.exitCode, 0, `${p} writable in the container: ${w.all}`);
    const r = await asService(mainPid, `touch ${p}/.am-rw`);
    assert.notEqual(r.exitCode, 0, `${p} writable to the service`);
    assert.match(r.all!, /Read-only file system/);
  }
  const usr = await asService(mainPid, "findmnt -n -o OPTIONS /usr");
  assert.match(String(usr.stdout), /^ro,/);
  // StateDirectory= made the state folder (root, 0700) and it is the one writable place.
  const st = await inContainer(["stat", "-c", "%a %U %G", "/var/lib/automagic"]);
  assert.equal(String(st.stdout).trim(), "700 root root");
  const w = await asService(
    mainPid,
    "touch /var/lib/automagic/.am-rw && rm /var/lib/automagic/.am-rw",
  );
  assert.equal(w.exitCode, 0, w.all);
  const token = await inContainer(["stat", "-c", "%a", "/var/lib/automagic/admin-token"]);
  assert.equal(String(token.stdout).trim(), "600"); // UMask=0077
  // ProtectHome and PrivateTmp: the tarball in /root and a file in /tmp are not there for it.
  writeFileSync(join(root, "tmp/am-marker"), "");
  const hidden = await asService(
    mainPid,
    `test ! -e /root/${basename(tarball)} && test ! -e /tmp/am-marker`,
  );
  assert.equal(hidden.exitCode, 0, "the service sees /root or the container's /tmp");

  // systemctl reload: SIGHUP through ExecReload, the same process goes on.
  const reload = await inContainer(["systemctl", "reload", "automagic"]);
  assert.equal(reload.exitCode, 0, reload.all);
  const after = await inContainer(["systemctl", "show", "-p", "MainPID", "--value", "automagic"]);
  assert.equal(String(after.stdout).trim(), mainPid);
  assert.equal(
    String((await inContainer(["systemctl", "is-active", "automagic"])).stdout).trim(),
    "active",
    await journal("automagic"),
  );
});
