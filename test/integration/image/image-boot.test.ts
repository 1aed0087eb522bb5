// Boots the built image in QEMU with no disk (-kernel/-initrd, TCG, 768 MiB)
// and checks what a netbooted machine must do: the boot service passes the
// kernel command line's automagic.* arguments to the payload (whose start
// marker appears on the serial console) and sshd answers. The network is
// QEMU user-net with restrict=on: DHCP comes from QEMU itself, the guest
// reaches nothing, and only sshd is forwarded, to 127.0.0.1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { buildImage, type BuildResult } from "../../../image-builder/build.ts";
import { defaultPaths } from "../../../image-builder/paths.ts";
import { KERNEL_ARGS } from "../../../image-builder/manifest.ts";
import { probeAccel, startVm, type RunningVm } from "../../lib/qemu.ts";
import { requireTool } from "../../lib/tools.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/marker-payload.ts", import.meta.url));
const MAC = "52:54:00:a7:00:05";
let work = "";
let image: BuildResult;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

function boot(name: string, append: string, sshPort: number): RunningVm {
  const accel = probeAccel();
  console.log(`# ${name}: accelerator ${accel.name} (${accel.why})`);
  return startVm(
    {
      name,
      firmware: "bios",
      mac: MAC,
      memMiB: 768,
      disks: [],
      kernel: { kernel: join(image.dir, "vmlinuz"), initrd: join(image.dir, "initrd.img"), append },
      extraArgs: [
        "-nic",
        `user,restrict=on,model=virtio-net-pci,mac=${MAC},hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
      ],
      workDir: work,
    },
    accel,
  );
}

async function keyscan(port: number): Promise<string> {
  const r = await execa(
    "ssh-keyscan",
    ["-T", "10", "-p", String(port), "-t", "ed25519", "127.0.0.1"],
    { reject: false },
  );
  return r.stdout;
}

before(async () => {
  for (const t of ["qemu-system-x86_64", "ssh-keyscan", "ssh-keygen", "mmdebstrap", "zstd"])
    requireTool(t);
  work = await mkdtemp(join(tmpdir(), "automagic-image-boot-"));
  // Base and runtime layers come from var/image-cache (built on first use);
  // only the payload layer is new, so this takes seconds when cached.
  image = await buildImage({
    entry: FIXTURE,
    paths: {
      ...defaultPaths(),
      images: join(work, "images"),
      payloadOut: join(work, "payload/automagic-install"),
    },
    makeCurrent: false,
  });
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

test(
  "netboot image runs the payload with the kernel command line's arguments and starts sshd",
  { timeout: 240_000 },
  async () => {
    const port = await freePort();
    const append = `${KERNEL_ARGS} automagic.url=http://10.0.2.2:9/ automagic.token=t0k-e2e automagic.action=rescue BOOTIF=01-${MAC.replace(/:/g, "-")}`;
    const t0 = performance.now();
    const vm = boot("image-boot", append, port);
    try {
      await vm.waitFor(/AUTOMAGIC-PAYLOAD-START/, 120_000);
      console.log(
        `# QEMU start -> payload marker: ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      const text = await vm.waitFor(
        /(?=[\s\S]*sshd listening on port 22 \(SHA256:\S+\))(?=[\s\S]*FIXTURE-EXEC [^\r\n]* node v[^\r\n]+\r?\n)/,
        60_000,
      );
      const argv = JSON.parse(/FIXTURE-ARGV (.*)/.exec(text)![1]!.trim()) as string[];
      assert.deepEqual(argv, [
        "--server",
        "http://10.0.2.2:9/",
        "--token",
        "t0k-e2e",
        "--action",
        "rescue",
      ]);
      assert.match(
        text,
        /FIXTURE-EXEC \/usr\/local\/bin\/automagic-install node v2\d\./,
        "the single-file SEA ran the bundle",
      );
      assert.match(text, /network: DHCP on eth0/, "BOOTIF picked the NIC");
      const fingerprint = /sshd listening on port 22 \((SHA256:\S+)\)/.exec(text)![1]!;
      const scanned = await keyscan(port);
      assert.match(
        scanned,
        /ssh-ed25519 AAAA/,
        `ssh-keyscan through the forwarded port: ${scanned}`,
      );
      const fp = await execa("ssh-keygen", ["-l", "-f", "-"], {
        input: scanned.split("\n").find((l) => l.includes("ssh-ed25519"))!,
      });
      assert.ok(
        fp.stdout.includes(fingerprint),
        `sshd's key ${fp.stdout} is the one the console announced (${fingerprint})`,
      );
    } finally {
      await vm.kill();
    }
  },
);

test(
  "without automagic arguments the image is a rescue system: no payload, sshd up",
  { timeout: 240_000 },
  async () => {
    const port = await freePort();
    const vm = boot("image-rescue", KERNEL_ARGS, port);
    try {
      const text = await vm.waitFor(
        /sshd listening on port 22[\s\S]*rescue shell|rescue shell[\s\S]*sshd listening on port 22/,
        120_000,
      );
      assert.doesNotMatch(text, /AUTOMAGIC-PAYLOAD-START/);
      assert.match(await keyscan(port), /ssh-ed25519 AAAA/);
    } finally {
      await vm.kill();
    }
  },
);
