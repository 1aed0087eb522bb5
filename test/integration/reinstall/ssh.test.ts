// `automagic reinstall HOST --via ssh|kexec` with real OpenSSH: sshd runs in
// a network namespace the test creates (the "machine", 10.77.0.2, with its
// own tmpfs on /run/automagic, the reinstall folder and /var/log), a real `automagic serve` in the
// other (10.77.0.1), and the CLI beside it.
// - ssh: the real single-file payload (built here from payload/main.ts)
//   arrives byte-identical, starts detached with the token from its 0600
//   file, and its events reach the server; --devices names no disk, so the
//   plan refuses and nothing is touched: the run fails, and --wait says why.
// - a host whose layout is not ab is refused (exit 4, naming the layout).
// - kexec: up to `kexec -l`, with a fake kexec on sshd's PATH that records its
//   argv; the command line equals the one boot.ipxe gives the host.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { createTestNet, type TestNet } from "../../lib/netns.ts";
import { requireTool } from "../../lib/tools.ts";
import { bundlePayload } from "../../../image-builder/payload/bundle.ts";
import { assemblePayload } from "../../../image-builder/payload/assemble.ts";
import { ensureRuntime } from "../../../image-builder/payload/runtime.ts";
import { defaultPaths } from "../../../image-builder/paths.ts";
import { REMOTE } from "../../../server/policy/reinstall.ts";
import {
  BIN,
  REPO,
  allowBootFrom,
  freePort,
  makeWorld,
  startServe,
  type Served,
  type World,
} from "../control/serve-process.ts";

const MACHINE = "10.77.0.2";
const AB_MAC = "52:54:00:a0:0a:0b";
const BIOS_MAC = "52:54:00:a0:00:01"; // hosts/qemu-bios.yaml

let dir = "";
let net: TestNet;
let world: World;
let srv: Served;
let sshd: ResultPromise;
let binary = "";
let admin = "";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

before(async () => {
  for (const t of ["sshd", "ssh", "ssh-keygen", "setsid", "curl", "sha256sum", "unshare"])
    requireTool(t);
  dir = mkdtempSync(join(tmpdir(), "am-reinstall-"));
  // The real payload, as the image build makes it.
  const runtime = await ensureRuntime(defaultPaths().cache);
  await bundlePayload(join(REPO, "payload/main.ts"), join(dir, "bundle.mjs"));
  binary = join(dir, "automagic-install");
  await assemblePayload(runtime.path, join(dir, "bundle.mjs"), binary);

  world = makeWorld();
  const img = join(world.imagesDir, "t1");
  cpSync(binary, join(img, "automagic-install"));
  writeFileSync(
    join(img, "manifest.json"),
    JSON.stringify({
      kernelArgs: "console=ttyS0,115200n8 quiet",
      payload: { binarySha256: sha(readFileSync(binary)) },
    }),
  );
  // An A/B host beside the repo's hosts (qemu-bios keeps its layout).
  const ab = readFileSync(join(world.hostsDir, "qemu-bios.yaml"), "utf8")
    .replace(BIOS_MAC, AB_MAC)
    .replace(
      /layout:\n {2}mode: keep\n {2}root: .*\n/,
      "layout:\n  mode: ab\n  slots: { a: { partlabel: automagic-a }, b: { partlabel: automagic-b } }\n  boot: { partlabel: automagic-boot }\n",
    );
  assert.match(ab, /mode: ab/);
  writeFileSync(join(world.hostsDir, "ab-test.yaml"), ab);
  cpSync(join(world.hostsDir, "qemu-bios"), join(world.hostsDir, "ab-test"), { recursive: true });
  allowBootFrom(world, "qemu-bios", ["127.0.0.1"]);

  net = await createTestNet("am-rsh");
  await net.inClient("ip", ["addr", "add", `${MACHINE}/24`, "dev", "cli0"]);
  const port = await freePort();
  srv = await startServe(
    world,
    [
      "--http-port",
      String(port),
      "--no-tftp",
      "--listen",
      "0.0.0.0",
      "--server-url",
      `http://10.77.0.1:${port}`,
    ],
    net.server,
  );
  admin = `http://127.0.0.1:${port}`;

  // The machine's sshd: root by key only, a fake kexec first on the sessions' PATH.
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "host_key")]);
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id")]);
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "id.pub")));
  mkdirSync(join(dir, "bin"));
  mkdirSync(join(dir, "kexec-calls"));
  writeFileSync(
    join(dir, "bin", "kexec"),
    `#!/bin/sh\nprintf '%s\\n' "$@" > ${dir}/kexec-calls/$(date +%s%N)\n`,
  );
  chmodSync(join(dir, "bin", "kexec"), 0o755);
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `ListenAddress ${MACHINE}`,
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      `PidFile ${dir}/sshd.pid`,
      `SetEnv PATH=${dir}/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      "",
    ].join("\n"),
  );
  mkdirSync("/run/sshd", { recursive: true });
  mkdirSync("/run/automagic", { recursive: true });
  // An empty mountpoint on this machine; the files go to the tmpfs mounted on it.
  mkdirSync(REMOTE.dir, { recursive: true });
  // Its own /run/automagic, reinstall folder and /var/log: nothing the payload writes lands on this machine's.
  sshd = execa(
    "ip",
    [
      "netns",
      "exec",
      net.client,
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      `mount -t tmpfs tmpfs /run/automagic && mount -t tmpfs tmpfs ${REMOTE.dir} && mount -t tmpfs tmpfs /var/log && exec /usr/sbin/sshd -D -e -f ${dir}/sshd_config`,
    ],
    { reject: false, all: true, buffer: false },
  );
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start:\n${out}`)), 20_000);
    sshd.all!.on("data", (c: Buffer) => {
      out += c.toString();
      if (/Server listening/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
});

after(async () => {
  sshd?.kill("SIGTERM");
  await sshd?.catch(() => {});
  await srv?.stop();
  await net?.close();
  world?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The CLI in the server's namespace, with the test's key and known_hosts. */
function cli(args: string[]) {
  return execa(
    "ip",
    [
      "netns",
      "exec",
      net.server,
      BIN,
      ...args,
      "--server",
      admin,
      "-i",
      join(dir, "id"),
      "--accept-new",
      "--ssh-option",
      `UserKnownHostsFile=${dir}/known_hosts`,
    ],
    { reject: false },
  );
}

/** A file as the machine sees it (its own mounts), through sshd's /proc root. */
const onMachine = (path: string) => readFileSync(`/proc/${sshd.pid}/root${path}`);

test("reinstall --via ssh: the payload arrives intact, runs with the token file, reports", async () => {
  const r = await cli([
    "reinstall",
    "ab-test",
    "--via",
    "ssh",
    "--address",
    MACHINE,
    "--devices",
    "/dev/automagic-no-such-disk",
    "--wait",
    "--json",
    "--timeout",
    "120",
  ]);
  const doc = JSON.parse(r.stdout) as {
    host: string;
    run: number;
    via: string;
    outcome: string;
    reason?: string;
  };
  assert.equal(
    r.exitCode,
    4,
    `${r.stdout}\n${r.stderr}\n${onMachine("/var/log/automagic-reinstall.log").toString()}`,
  );
  assert.equal(doc.host, "ab-test");
  assert.equal(doc.via, "ssh");
  assert.equal(doc.outcome, "failed");
  assert.match(doc.reason ?? "", /plan/);
  assert.match(r.stderr, /failed: /);

  assert.deepEqual(onMachine(REMOTE.payload), readFileSync(binary), "byte-identical");
  const token = `/proc/${sshd.pid}/root${REMOTE.token}`;
  const { statSync } = await import("node:fs");
  assert.equal(statSync(token).mode & 0o777, 0o600);
  const log = onMachine("/var/log/automagic-reinstall.log").toString();
  assert.match(log, /^AUTOMAGIC-PAYLOAD-START/);

  // The payload's events reached the server under the run, from the machine's address.
  const ev = await execa("ip", [
    "netns",
    "exec",
    net.server,
    BIN,
    "events",
    "ab-test",
    "--json",
    "--server",
    admin,
  ]);
  const events = ev.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { runId: number; event: { kind: string; message?: string } });
  const ours = events.filter((e) => e.runId === doc.run).map((e) => e.event.kind);
  assert.deepEqual(ours, ["run-start", "step-fail"], JSON.stringify(events));
  const tr = await execa("ip", [
    "netns",
    "exec",
    net.server,
    BIN,
    "trace",
    "ab-test",
    "--json",
    "--server",
    admin,
  ]);
  assert.match(tr.stdout, /"spec fetched"/);
  assert.match(tr.stdout, new RegExp(`"ip": "${MACHINE.replace(/\./g, "\\.")}"`));
});

test("reinstall --via ssh: a host whose layout is not ab is refused, nothing copied", async () => {
  const r = await cli(["reinstall", "qemu-bios", "--via", "ssh", "--address", MACHINE, "--json"]);
  assert.equal(r.exitCode, 4);
  assert.match(r.stderr, /qemu-bios's layout is mode keep/);
  assert.equal(r.stdout, "");
});

test("reinstall --via kexec: kernel and initrd fetched with the token, kexec -l with the netboot command line", async () => {
  const r = await cli(["reinstall", "qemu-bios", "--via", "kexec", "--address", MACHINE, "--json"]);
  assert.equal(r.exitCode, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { run: number; outcome: string };
  assert.equal(doc.outcome, "started");
  assert.deepEqual(onMachine(`${REMOTE.dir}/vmlinuz`).toString(), "test-kernel");
  assert.equal(onMachine(`${REMOTE.dir}/initrd.img`).length, 64 * 1024);
  // kexec -l at once; kexec -e a second later, after ssh returned
  let calls: string[][] = [];
  for (let i = 0; i < 50 && calls.length < 2; i++) {
    await new Promise((res) => setTimeout(res, 100));
    calls = readdirSync(join(dir, "kexec-calls"))
      .sort()
      .map((f) =>
        readFileSync(join(dir, "kexec-calls", f), "utf8")
          .trimEnd()
          .split("\n"),
      );
  }
  assert.equal(calls.length, 2, JSON.stringify(calls));
  assert.deepEqual(calls[1], ["-e"]);
  const [l, kernel, initrd, cmdline] = calls[0]!;
  assert.deepEqual([l, kernel, initrd], ["-l", "vmlinuz", "--initrd=initrd.img"]);
  const kexecLine = cmdline!.replace(/^--command-line=/, "");
  const kexecToken = /automagic\.token=(\S+)/.exec(kexecLine)![1]!;

  // What a netboot of the same host and action gets from boot.ipxe (the token aside).
  await execa("ip", [
    "netns",
    "exec",
    net.server,
    BIN,
    "next",
    "qemu-bios",
    "install",
    "--server",
    admin,
  ]);
  const script = (
    await execa("ip", [
      "netns",
      "exec",
      net.server,
      "curl",
      "-fsS",
      `${admin}/boot.ipxe?mac=${BIOS_MAC}`,
    ])
  ).stdout;
  const bootLine = /^kernel \S+ (.*) \|\| goto retry$/m.exec(script)![1]!;
  const bootToken = /automagic\.token=(\S+)/.exec(bootLine)![1]!;
  assert.equal(kexecLine.replace(kexecToken, "T"), bootLine.replace(bootToken, "T"));
  assert.match(
    kexecLine,
    /automagic\.url=http:\/\/10\.77\.0\.1:\d+ .*automagic\.action=install BOOTIF=01-52-54-00-a0-00-01 console=ttyS0,115200n8 quiet$/,
  );
});
