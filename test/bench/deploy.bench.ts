// Deploy bench (#15): deploy:latest as users run it — `automagic serve`
// started from a config file (its state on the real disk), the RAM system's
// payload (payload/main.ts, its scratch on a tmpfs as /run/automagic is)
// against a loop disk — once from the image on the machine's own /home and
// once from the server, against the peer `zstd -d < image | tar -x` onto the
// same freshly made filesystem on the same loop device (and `curl | zstd -d |
// tar -x` from the same serve for the server case), same run.
//   npx tsx test/bench/deploy.bench.ts
//   BENCH_ROUNDS (default 2; each figure is the best of its rounds, the order
//   alternates), BENCH_SMALL_FILES (default 20000: a repository-like tree of
//   small text files added to the stage3's root)
// The image is the fixture stage3's root captured by the product itself
// (capture:home,server: tar + zstd -3 to /home/data/sysimgs and the server).
// A deploy goes on past the root (portage files, chroot, configure); this
// image is a bare stage3 without a repository, so the run stops at the
// first configure step that needs one: what is measured is everything up to
// the extracted root, which is the part the peer does.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { closeSync, constants, existsSync, openSync, statSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { ROOT_FS_LABEL } from "../../payload/plan/groups/disk.ts";
import type { RunEvent } from "../../payload/spec/events.ts";
import {
  allowBootFrom,
  freePort,
  makeWorld,
  startServe,
} from "../integration/control/serve-process.ts";
import { attachLoop, withMount } from "../integration/payload/loopdisk.ts";
import { runPayload } from "../integration/payload/run.ts";
import { mountTmpfs } from "../lib/tmpfs.ts";
import { requireTool } from "../lib/tools.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const SMALL_FILES = Number(process.env.BENCH_SMALL_FILES ?? 20000);
const REPO = resolve(import.meta.dirname, "../..");
const HOST = "bench";
const MAC = "52:54:00:be:00:01";
const MiB = 2 ** 20;

for (const t of ["losetup", "sgdisk", "mkfs.ext4", "wipefs", "mount", "partx", "unshare"])
  requireTool(t);
for (const t of ["tar", "xz", "zstd", "curl"]) requireTool(t);

const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/**
 * The fixture's openrc stage3: a root tree of the right shape. Built only
 * when there is none (an out-of-date one serves as well here, and a
 * rebuild takes a quarter of an hour).
 */
function fixtureStage3(): string {
  const fixture = process.env.AUTOMAGIC_FIXTURE_MIRROR ?? join(REPO, "var/fixture-mirror");
  const auto = join(fixture, "releases/amd64/autobuilds");
  if (!existsSync(auto))
    execFileSync("npx", ["tsx", "test/fixture-mirror/build.ts"], { cwd: REPO, stdio: "inherit" });
  const stamp = readdirSync(auto).find((d) => statSync(join(auto, d)).isDirectory())!;
  const f = readdirSync(join(auto, stamp)).find((n) => /^stage3-amd64-openrc-.*\.tar\.xz$/.test(n));
  if (!f) throw new Error(`no openrc stage3 in ${join(auto, stamp)}`);
  return join(auto, stamp, f);
}

/** Ebuild-like text files (a repository's shape: many small files in two levels). */
function smallTree(dir: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const d = join(dir, `cat-${i % 150}`, `pkg-${i % 3000}`);
    if (i < 3000) mkdirSync(d, { recursive: true });
    const line = `# pkg-${i} ${"dev-libs/foo-".repeat(1 + (i % 7))}${i}\nIUSE="a b c ${i % 97}"\n`;
    writeFileSync(join(d, `pkg-${i}-1.${i % 13}.ebuild`), line.repeat(10 + (i % 60)));
  }
}

/** A BIOS disk as automagic leaves it: bios_grub, a root with its label, a /home. */
function makeDisk(tmp: string, stage3: string) {
  const image = join(tmp, "disk.img");
  sh("truncate", ["-s", "5000M", image]); // sparse: only what is written takes room
  sh("sgdisk", [
    "--new=1:0:+1M",
    "--typecode=1:ef02",
    "--new=2:0:+4200M", // the 4 GiB a Gentoo root needs (plan/checks.ts)
    "--change-name=2:root",
    "--new=3:0:0",
    "--change-name=3:home",
    image,
  ]);
  const loop = attachLoop(image);
  spawnSync("partx", ["--add", loop.dev]); // kernels that ignore --partscan (loopdisk.ts)
  const root = `${loop.dev}p2`;
  const home = `${loop.dev}p3`;
  sh("mkfs.ext4", ["-F", "-q", "-L", ROOT_FS_LABEL, root]);
  sh("mkfs.ext4", ["-F", "-q", "-L", "home", home]);
  withMount(root, (m) => {
    sh("tar", ["-xJpf", stage3, "--xattrs", "--xattrs-include=*.*", "--numeric-owner", "-C", m]);
    smallTree(join(m, "var/db/repos/bench"), SMALL_FILES);
  });
  withMount(home, (m) => {
    mkdirSync(join(m, "alice"));
    writeFileSync(join(m, "alice/notes.txt"), "alice's notes\n");
  });
  return { ...loop, root, home };
}

const HOST_FILE = `macs: ["${MAC}"]
firmware: bios
disk: { minSize: 4900MiB, maxSize: 5100MiB }
layout:
  mode: keep
  root: { partlabel: root }
home:
  ref: { label: home }
  fs: ext4
init: openrc
stage3: { variant: openrc }
keepSshHostKeys: false
# No binhost: getuto would start a gpg-agent in the chroot that outlives a
# run stopped by the bare image and holds the root (see PERFORMANCE.md).
portage: { binhost: false }
kernel: { linuxFirmware: false, intelMicrocode: false }
users: []
`;

/** serve from serve.yaml on loopback, state on the real disk; arm + the boot script's token. */
async function startBench() {
  const world = makeWorld();
  writeFileSync(join(world.hostsDir, `${HOST}.yaml`), HOST_FILE);
  allowBootFrom(world, HOST);
  const port = await freePort();
  const adminToken = randomBytes(24).toString("hex");
  const cfg = join(world.dir, "serve.yaml");
  writeFileSync(
    cfg,
    [
      "listen: 127.0.0.1",
      `http: { port: ${port} }`,
      "tftp: { enabled: false }",
      `adminToken: ${adminToken}`,
      "",
    ].join("\n"),
  );
  const served = await startServe(world, ["--config", cfg]);
  const url = `http://127.0.0.1:${port}`;
  const admin = async <T>(path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method: body ? "POST" : "GET",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  let seen = 0;
  return {
    url,
    world,
    served,
    /** Arms `action` and boots: the run token from the boot script, as iPXE gets it. */
    async arm(action: string): Promise<string> {
      await admin(`/api/v1/admin/hosts/${HOST}/next`, { action });
      const script = await (await fetch(`${url}/boot.ipxe?mac=${MAC}`)).text();
      const token = /automagic\.token=(\S+)/.exec(script)?.[1];
      if (!token) throw new Error(`no token in the boot script:\n${script}`);
      return token;
    },
    /** The events serve stored since the last call (what `automagic events` shows). */
    async newEvents(): Promise<RunEvent[]> {
      const out: RunEvent[] = [];
      for (;;) {
        const page = await admin<Array<{ id: number; event: RunEvent }>>(
          `/api/v1/admin/hosts/${HOST}/events?after=${seen}`,
        );
        if (!page.length) return out;
        seen = page.at(-1)!.id;
        out.push(...page.map((e) => e.event));
      }
    },
  };
}

type Bench = Awaited<ReturnType<typeof startBench>>;

interface Figure {
  /** Seconds: the product from the payload's start, the peer from mkfs on. */
  wall: number;
  /** Seconds of the steps / commands that make the root (fetch-sysimg.. extract-sysimg; mkfs.. tar). */
  root: number;
  extract: number;
  steps: string;
  /** The product: what comes before its first step. */
  before?: string;
}

const secs = (ms: number) => ms / 1000;
const stepMs = (events: RunEvent[], step: string) => {
  const end = events.find((e) => e.kind === "step-end" && e.step === step);
  const ms = /^(\d+) ms$/.exec(end?.message ?? "")?.[1];
  if (ms === undefined) {
    const failed = events
      .filter((e) => e.kind === "step-fail")
      .map((e) => `${e.step}: ${e.message}`);
    throw new Error(`step ${step} did not end (failed: ${failed.join("; ") || "none"})`);
  }
  return Number(ms);
};
const at = (events: RunEvent[], kind: string, step: string | undefined) =>
  Date.parse(events.find((e) => e.kind === kind && e.step === step)!.time);

/**
 * Waits (untimed) until nothing holds `dev`: the mounts of a finished
 * payload's private namespace are released a moment after it exits, and
 * mkfs refuses a device "in use by the system" until then.
 */
async function waitFree(dev: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      closeSync(openSync(dev, constants.O_RDONLY | constants.O_EXCL));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EBUSY") throw err;
      if (i >= 300)
        throw new Error(`${dev} still in use after 60 s: ${users(dev)}`, { cause: err });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Which processes see `dev` mounted (in any mount namespace), for the error. */
function users(dev: string): string {
  const name = dev.replace("/dev/", "");
  const out = sh("bash", [
    "-c",
    `for f in /proc/[0-9]*/mountinfo; do grep -q ' /dev/${name} ' $f 2>/dev/null && ` +
      `{ p=\${f#/proc/}; p=\${p%/mountinfo}; echo "$p $(tr '\\0' ' ' < /proc/$p/cmdline | cut -c1-120)"; }; done; true`,
  ]);
  return out.trim().split("\n").slice(0, 5).join("; ") || "no mount of it in any namespace";
}

const ROOT_STEPS = ["fetch-sysimg", "format-root", "mount-root", "extract-sysimg"];

/** The product: deploy:latest through serve and the payload; `from` says which store it must use. */
async function deploy(b: Bench, disk: ReturnType<typeof makeDisk>, ram: string, from: string) {
  const token = await b.arm("deploy:latest");
  const t0 = Date.now();
  const r = await runPayload({
    srv: b,
    token,
    devices: [disk.dev],
    target: join(ram, "..", "target"),
    stateDir: ram,
    action: "deploy:latest",
  });
  const events = await b.newEvents();
  const ms = ROOT_STEPS.map((s) => stepMs(events, s));
  stepMs(events, "mount-home"); // /home was released and mounted over the new root
  const source = events.find((e) =>
    /^system image \S+ .*sha256 [0-9a-f]{64} ok$/.test(e.message ?? ""),
  );
  if (!source?.message?.includes(from))
    throw new Error(`deploy from ${from}: the payload said ${source?.message ?? "nothing"}`);
  const stop = events.find((e) => e.kind === "step-fail");
  const fig: Figure = {
    wall: secs(at(events, "step-end", "extract-sysimg") - t0),
    root: secs(at(events, "step-end", "extract-sysimg") - at(events, "step-start", "fetch-sysimg")),
    extract: secs(ms[3]!),
    steps: ROOT_STEPS.map((s, i) => `${s} ${secs(ms[i]!).toFixed(1)}`).join(", "),
    before:
      `${secs(at(events, "run-start", undefined) - t0).toFixed(1)} s to the payload's first event (node + tsx), ` +
      `${secs(at(events, "step-start", "fetch-sysimg") - at(events, "run-start", undefined)).toFixed(1)} s spec + probe + plan`,
  };
  if (stop)
    fig.steps += `; the run stopped at ${stop.step} (exit ${r.status}): ${stop.message?.split("\n")[0]}`;
  return { fig };
}

/** The peer: wipefs + mkfs.ext4 as format-root does, mount, then `<decompress> | tar -x`. */
function peer(disk: ReturnType<typeof makeDisk>, dir: string, decompress: string): Figure {
  const t0 = performance.now();
  sh("wipefs", ["--all", "--force", disk.root]);
  sh("mkfs.ext4", ["-F", "-q", "-L", ROOT_FS_LABEL, disk.root]);
  mkdirSync(dir, { recursive: true });
  sh("mount", [disk.root, dir]);
  const t1 = performance.now();
  try {
    sh("bash", ["-c", `set -o pipefail; ${decompress} | tar -x -C '${dir}'`]);
  } finally {
    sh("umount", [dir]);
  }
  const t2 = performance.now();
  return {
    wall: secs(t2 - t0),
    root: secs(t2 - t0),
    extract: secs(t2 - t1),
    steps: `mkfs+mount ${secs(t1 - t0).toFixed(1)}, ${decompress.replace(/ '[^']*'/g, "")} | tar -x ${secs(t2 - t1).toFixed(1)}`,
  };
}

/** Mounts /home read-only (no journal replay), as fetch-sysimg does, for the peer to read the image. */
function withHomeImage<T>(disk: ReturnType<typeof makeDisk>, name: string, fn: (f: string) => T) {
  return withMount(disk.home, (m) => fn(join(m, "data/sysimgs", `${name}.tar.zst`)), true);
}

/** The server case: the /home copy out of the payload's sight, then back. */
const hideHome = (disk: ReturnType<typeof makeDisk>, hide: boolean) =>
  withMount(disk.home, (m) => {
    const [a, b] = [join(m, "data/sysimgs"), join(m, "data/sysimgs-hidden")];
    renameSync(hide ? a : b, hide ? b : a);
  });

async function main() {
  const stage3 = fixtureStage3();
  const tmp = mkdtempSync("/var/tmp/am-deploy-bench-");
  const undo: Array<() => unknown> = [() => rmSync(tmp, { recursive: true, force: true })];
  try {
    const disk = makeDisk(tmp, stage3);
    undo.push(() => disk.detach());
    const rootInfo = withMount(
      disk.root,
      (m) => ({
        bytes: Number(sh("du", ["-sxb", m]).split("\t")[0]),
        files: Number(sh("sh", ["-c", `find '${m}' -xdev | wc -l`]).trim()),
      }),
      true,
    );
    // The RAM system's /run/automagic: staging for the server's copy.
    const ram = await mountTmpfs("2g", "am-deploy-ram-");
    undo.push(() => ram.close());
    const b = await startBench();
    undo.push(() => b.world.close());
    undo.push(() => b.served.stop());
    const scratch = join(ram.dir, "run");

    // The image: the product's own capture, to both stores.
    const capToken = await b.arm("capture:home,server");
    const c0 = performance.now();
    const cap = await runPayload({
      srv: b,
      token: capToken,
      devices: [disk.dev],
      target: join(tmp, "t"),
      stateDir: scratch,
      action: "capture",
    });
    const capSecs = secs(performance.now() - c0);
    const capEvents = await b.newEvents();
    const done = capEvents.find((e) => e.kind === "run-done");
    if (cap.status !== 0 || !done)
      throw new Error(
        `capture failed (${cap.status}):\n${cap.stdout.slice(-3000)}\n${cap.stderr.slice(-2000)}`,
      );
    const { image: name, bytes } = done.summary as { image: string; bytes: number };
    const imgMiB = bytes / MiB;
    console.log(
      `deploy bench: image ${name}: ${imgMiB.toFixed(0)} MiB (tar + zstd -3, captured by the product in ${capSecs.toFixed(1)} s) ` +
        `of a ${(rootInfo.bytes / MiB).toFixed(0)} MiB root, ${rootInfo.files} entries (stage3 + ${SMALL_FILES} small files); ` +
        `${ROUNDS} rounds, best of each; load ${loadavg()[0]!.toFixed(1)} on ${sh("nproc", []).trim()} cores`,
    );

    const peerDir = join(tmp, "peer");
    const serverFile = join(b.world.stateDir, "sysimgs", `${name}.tar.zst`);
    if (!existsSync(serverFile)) throw new Error(`the server's store has no ${serverFile}`);
    const cases: Array<[string, () => Promise<Figure>]> = [
      [
        "automagic deploy, image on /home",
        async () => (await deploy(b, disk, scratch, disk.home)).fig,
      ],
      [
        "peer zstd -d < /home copy | tar -x",
        async () => withHomeImage(disk, name, (f) => peer(disk, peerDir, `zstd -d < '${f}'`)),
      ],
      [
        "automagic deploy, image on the server",
        async () => {
          hideHome(disk, true);
          try {
            return (await deploy(b, disk, scratch, "system image " + name + ":")).fig;
          } finally {
            hideHome(disk, false);
          }
        },
      ],
      [
        "peer curl (serve) | zstd -d | tar -x",
        async () => {
          const token = await b.arm(`deploy:${name}`);
          const url = `${b.url}/api/v1/run/${token}/sysimg?name=${name}`;
          return peer(disk, peerDir, `curl -sS --fail '${url}' | zstd -d`);
        },
      ],
      [
        "peer zstd -d < server's file | tar -x",
        async () => peer(disk, peerDir, `zstd -d < '${serverFile}'`),
      ],
    ];
    const best = new Map<string, Figure>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [label, run] of round % 2 ? [...cases].reverse() : cases) {
        await waitFree(disk.root);
        const f = await run();
        console.log(`  round ${round + 1}: ${label}: ${f.root.toFixed(1)} s (${f.steps})`);
        if (!best.has(label) || f.root < best.get(label)!.root) best.set(label, f);
      }
    }
    console.log(`${"".padEnd(40)}  root s  MiB/s  extract s  MiB/s`);
    for (const [label] of cases) {
      const f = best.get(label)!;
      console.log(
        `${label.padEnd(40)} ${f.root.toFixed(1).padStart(6)} ${(imgMiB / f.root).toFixed(0).padStart(6)} ${f.extract.toFixed(1).padStart(10)} ${(imgMiB / f.extract).toFixed(0).padStart(6)}  ${f.steps}` +
          (f.before
            ? `\n${"".padEnd(41)}from the payload's start ${f.wall.toFixed(1)} s: ${f.before}`
            : ""),
      );
    }
  } finally {
    for (const u of undo.reverse()) await u();
  }
}

await main();
