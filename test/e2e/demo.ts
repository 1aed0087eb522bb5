// `make demo`: the built-in demo. Builds (or reuses) the netboot image and
// the fixture mirror, starts `automagic serve` in a private network
// namespace, arms the `qemu-bios` host, powers on a QEMU machine that
// netboots and installs itself, shows live progress, then keeps the
// installed machine running until Ctrl-C, which tears everything down.
import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { createTestbed } from "../lib/testbed.ts";
import { probeAccel, startVm, type RunningVm } from "../lib/qemu.ts";
import { loadHostRegistry } from "../../server/hosts/index.ts";
import { ensureArtifacts, FIXTURE_DIR, IMAGES_DIR, REPO } from "./lib/artifacts.ts";
import { prepareHosts, startBedServer } from "./lib/server.ts";
import { makeBiosSystemDisk, makeHomeDisk } from "./lib/disks.ts";
import { fetchTimeline, renderTimeline } from "./lib/timeline.ts";

const HOST = "qemu-bios";
const MAC = "52:54:00:a0:00:01";

function say(msg: string): void {
  process.stdout.write(`\x1b[1m[demo]\x1b[0m ${msg}\n`);
}

/**
 * `make demo MIRROR=<url>`: the demo machine lives in a private namespace with
 * no route out, and a real Gentoo install also needs Gentoo's binary package
 * host (kernel, packages) from inside it. Until the demo can give its
 * namespace a way out, it says so plainly and uses the fixture mirror; a real
 * install points serve.yaml's mirror.upstream at the mirror (docs/MIRROR.md).
 */
function mirrorNotice(): void {
  const mirror = process.env.MIRROR?.trim();
  if (!mirror) return;
  say(
    `MIRROR=${mirror}: not used. The demo machine runs in a private network namespace with ` +
      "no route out, and a real Gentoo install needs the mirror and Gentoo's binary package host " +
      "from inside it; using the offline fixture mirror instead. For a real install set " +
      "mirror.upstream in serve.yaml and put Gentoo's keys in mirror.keysDir (docs/MIRROR.md).",
  );
}

/** The stage3 variant the demo host installs: the fixture builds only that one. */
async function demoVariant(): Promise<string> {
  const host = (await loadHostRegistry(join(REPO, "hosts"))).byName(HOST);
  return host?.raw.stage3?.variant ?? "openrc";
}

/**
 * What a first run costs, said before it starts (docs/PERFORMANCE.md "First
 * run", 2 cores, idle): later runs reuse both builds and go straight to QEMU.
 */
function firstRunNotice(variant: string, kvm: boolean): void {
  const fixture = existsSync(join(FIXTURE_DIR, ".input-hash"));
  const image = existsSync(join(IMAGES_DIR, "current"));
  const install = kvm ? "a few minutes with KVM" : "12-14 min under TCG";
  if (fixture && image) {
    say(
      `image and fixture mirror built before: reused unless their inputs changed; install ${install}`,
    );
    return;
  }
  const parts = [
    ...(fixture ? [] : [`the fixture mirror (${variant} stage3 + binhost, ~5 min on 2 cores)`]),
    ...(image ? [] : ["the netboot image (~2-3 min)"]),
  ];
  say(`first run: building ${parts.join(" and ")}, then the install (${install})`);
}

async function main(): Promise<void> {
  mirrorNotice();
  const accel = probeAccel();
  say(`accelerator: ${accel.name} (${accel.why})`);
  const variant = await demoVariant();
  firstRunNotice(variant, accel.name === "kvm");
  const art = await ensureArtifacts({ variants: [variant] });
  const work = await mkdtemp("/tmp/automagic-demo-");
  const keyFile = join(work, "id_ed25519");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "demo", "-f", keyFile]);
  const hostsDir = await prepareHosts(work, await readFile(`${keyFile}.pub`, "utf8"));
  const sys = join(work, "bios-sys.img");
  await makeBiosSystemDisk(sys, work);
  const home = await makeHomeDisk(join(work, "bios-home.img"), work, 300);
  const bed = await createTestbed("am-demo");
  let vm: RunningVm | undefined;
  let follow: ReturnType<typeof bed.exec> | undefined;
  const cleanup = async () => {
    follow?.kill("SIGKILL");
    await vm?.kill();
    await server?.stop().catch(() => undefined);
    await bed.close();
  };
  let server: Awaited<ReturnType<typeof startBedServer>> | undefined;
  // Before the testbed's own handler, which kills everything in the
  // namespace at once and exits: without this the user saw no word on Ctrl-C.
  process.prependListener("SIGINT", () => {
    say(`stopping: VM, server, namespace (consoles and server log stay in ${work}) ...`);
    cleanup().then(
      () => process.exit(130),
      (err: unknown) => {
        process.stderr.write(`[demo] cleanup failed: ${(err as Error).message}\n`);
        process.exit(130);
      },
    );
  });
  try {
    await bed.addTap("tap0");
    server = await startBedServer(bed, art, { workDir: work, hostsDir });
    say(`server up in namespace ${bed.ns} at ${server.url} (log: ${server.logFile})`);
    await server.cli(["next", HOST, "install"]);
    say(
      `armed ${HOST} for install; powering on its QEMU machine (console: ${work}/${"bios-install"}.console.log)`,
    );
    follow = bed.exec(join(REPO, "bin/automagic"), ["events", HOST, "--follow"], {
      cwd: REPO,
      reject: false,
      stdout: "inherit",
      stderr: "inherit",
    });
    const disks = [
      { file: sys, serial: "AM-SYS-BIOS" },
      { file: home.file, serial: "AM-HOME-BIOS" },
    ];
    const mk = (name: string) =>
      startVm(
        {
          name,
          firmware: "bios",
          mac: MAC,
          memMiB: 2048,
          disks,
          tap: "tap0",
          netbootFirst: true,
          workDir: work,
        },
        accel,
        {
          netns: bed.ns,
        },
      );
    vm = mk("bios-install");
    await vm.exited;
    say(
      "phase 1 finished and the machine rebooted; powering it on again (it must boot its disk now)",
    );
    vm = mk("bios-firstboot");
    for (;;) {
      const s = await server.json<{ state: string; run?: { status: string; failure?: string } }>([
        "status",
        HOST,
      ]);
      if (s.run?.status === "done" || s.state.startsWith("failed")) {
        say(`run ${s.run?.status}${s.run?.failure ? `: ${s.run.failure}` : ""}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 3000));
    }
    follow.kill("SIGKILL");
    say(`timeline:\n${renderTimeline(await fetchTimeline(server, HOST))}`);
    const inv = JSON.parse(await server.cli(["inventory"])) as {
      _meta: { hostvars: Record<string, { ansible_host?: string }> };
    };
    const ip = inv._meta.hostvars[HOST]?.ansible_host ?? "<its DHCP address>";
    say("the installed machine is running. Log in with:");
    say(`  ip netns exec ${bed.ns} ssh -i ${keyFile} -o StrictHostKeyChecking=no root@${ip}`);
    say(`status: ip netns exec ${bed.ns} ./bin/automagic status`);
    say("press Ctrl-C to stop the VM, the server and remove the namespace.");
    await new Promise(() => undefined);
  } catch (err) {
    process.stderr.write(`[demo] failed: ${(err as Error).message}\n`);
    await cleanup();
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  // main() reports its own failures; this is a failed cleanup after one.
  process.stderr.write(`[demo] ${(err as Error).message}\n`);
  process.exit(1);
});
