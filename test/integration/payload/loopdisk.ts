// A loop "disk" for the installer tests: GPT with a BIOS boot partition, an
// old root (accounts, SSH host keys, a marker file) and a /home full of files
// owned by UIDs 1000 and 1001. Only image files and the loop device we attach.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  lstatSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { sha256 } from "../../../shared/hash.ts";

const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

export const OLD_ALICE_HASH =
  "$6$oldsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789abcdefghij";

export interface LoopDisk {
  dev: string;
  root: string;
  home: string;
  image: string;
  detach(): void;
}

/** Attaches `image` as a partitioned loop device; detach() may be called more than once. */
export function attachLoop(image: string): { dev: string; detach(): void } {
  const dev = sh("losetup", ["--find", "--show", "--partscan", image]).trim();
  const detach = () => {
    try {
      sh("losetup", ["-d", dev]);
    } catch {
      /* already detached */
    }
  };
  return { dev, detach };
}

export function makeLoopDisk(dir: string): LoopDisk {
  const image = join(dir, "disk.img");
  sh("truncate", ["-s", "8G", image]);
  sh("sgdisk", [
    "--new=1:0:+1M",
    "--typecode=1:ef02",
    "--new=2:0:+5G",
    "--typecode=2:8304",
    "--change-name=2:root",
    "--new=3:0:0",
    "--typecode=3:8302",
    "--change-name=3:home",
    image,
  ]);
  const { dev, detach } = attachLoop(image);
  const disk = { dev, root: `${dev}p2`, home: `${dev}p3`, image, detach };
  try {
    fill(disk);
  } catch (err) {
    detach();
    throw err;
  }
  return disk;
}

function fill(disk: LoopDisk): void {
  // Kernels built without GPT parsing (this CI's) ignore --partscan: partx adds them from userspace.
  try {
    sh("partx", ["--add", disk.dev]);
  } catch {
    /* the kernel already scanned them */
  }
  sh("mkfs.ext4", ["-F", "-q", disk.root]);
  sh("mkfs.ext4", ["-F", "-q", "-L", "home", disk.home]);
  withMount(disk.root, (m) => {
    mkdirSync(join(m, "etc/ssh"), { recursive: true });
    writeFileSync(
      join(m, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/bash\n",
    );
    writeFileSync(
      join(m, "etc/shadow"),
      `root:*:19000:0:99999:7:::\nalice:${OLD_ALICE_HASH}:19000:0:99999:7:::\nbob:!:19000::::::\n`,
    );
    writeFileSync(join(m, "etc/group"), "root:x:0:\nalice:x:1000:\nbob:x:1001:\n");
    writeFileSync(join(m, "etc/ssh/ssh_host_ed25519_key"), "OLD-PRIVATE-KEY\n", { mode: 0o600 });
    writeFileSync(join(m, "etc/ssh/ssh_host_ed25519_key.pub"), "ssh-ed25519 AAAAOLD old@host\n", {
      mode: 0o644,
    });
    writeFileSync(join(m, "OLD-ROOT-MARKER"), "the old OS\n");
  });
  withMount(disk.home, (m) => {
    for (const [user, uid, mode] of [
      ["alice", 1000, 0o700],
      ["bob", 1001, 0o750],
    ] as const) {
      const h = join(m, user);
      mkdirSync(join(h, "docs/deep"), { recursive: true });
      writeFileSync(join(h, "notes.txt"), `${user}'s notes\n`.repeat(100));
      writeFileSync(join(h, "docs/deep/data.bin"), Buffer.alloc(300_000, uid));
      writeFileSync(join(h, "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
      writeFileSync(join(h, "secret"), "s\n", { mode: 0o600 });
      symlinkSync("notes.txt", join(h, "link"));
      for (const p of [
        "",
        "docs",
        "docs/deep",
        "notes.txt",
        "docs/deep/data.bin",
        "run.sh",
        "secret",
      ])
        chownSync(join(h, p), uid, uid);
      execFileSync("chown", ["-h", `${uid}:${uid}`, join(h, "link")]);
      chmodSync(h, mode);
    }
  });
}

/** Read-only that writes nothing: no journal replay (ext4 noload, xfs norecovery). */
function roOptions(dev: string): string {
  const fs = sh("blkid", ["-p", "-o", "value", "-s", "TYPE", dev]).trim();
  return fs === "ext4" || fs === "ext3" ? "ro,noload" : fs === "xfs" ? "ro,norecovery" : "ro";
}

export function withMount<T>(dev: string, fn: (dir: string) => T, ro = false): T {
  const m = mkdtempSync("/tmp/am-pay-mnt-");
  try {
    sh("mount", [...(ro ? ["-o", roOptions(dev)] : []), dev, m]);
  } catch (err) {
    const info = readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .filter((l) => l.includes(dev.replace("/dev/", "")));
    rmSync(m, { recursive: true, force: true });
    throw new Error(`mount ${dev} failed; mountinfo for it: ${info.join(" | ") || "none"}`, {
      cause: err,
    });
  }
  try {
    return fn(m);
  } finally {
    sh("umount", [m]);
    rmSync(m, { recursive: true, force: true });
  }
}

/** path mode uid:gid sha256 for every entry under dir (symlinks: their target). */
export function manifest(dir: string): string {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(dir, r);
      const st = lstatSync(p);
      const what = st.isSymbolicLink()
        ? `-> ${readlinkSync(p)}`
        : st.isFile()
          ? sha256(readFileSync(p))
          : "dir";
      out.push(`${r} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`);
      if (st.isDirectory() && !st.isSymbolicLink()) walk(r);
    }
  };
  const top = lstatSync(dir);
  out.push(`. ${(top.mode & 0o7777).toString(8)} ${top.uid}:${top.gid}`);
  walk("");
  return out.join("\n");
}

export const blkidUuid = (dev: string) =>
  sh("blkid", ["-p", "-o", "value", "-s", "UUID", dev]).trim();
