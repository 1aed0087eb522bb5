// A loop "disk" shaped like the one hosts/example-workstation.yaml describes:
// a 1 TB GPT (sparse; the file's minSize/maxSize hold) with partitions
// labelled EFI, swap and gentoo-root, an old Gentoo root on btrfs (carol's
// password hash, SSH host keys) and /home on xfs with the file's UUID and
// carol's and dave's files. One addition the file does not describe: a BIOS
// boot partition, because this test machine boots BIOS (see the test).
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { attachLoop, withMount, type LoopDisk } from "./loopdisk.ts";

const sh = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

export const OLD_CAROL_HASH =
  "$6$carolsalt$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./abcdefghijklmnopqrstuv";

export interface WorkstationDisk extends LoopDisk {
  esp: string;
  biosBoot: string;
  swap: string;
}

export interface HomeOwner {
  name: string;
  uid: number;
  gid: number;
}

export function makeWorkstationDisk(
  dir: string,
  o: { sizeBytes: number; homeUuid: string; owners: HomeOwner[] },
): WorkstationDisk {
  const image = join(dir, "ws-disk.img");
  sh("truncate", ["-s", String(o.sizeBytes), image]);
  sh("sgdisk", [
    "--new=1:0:+256M",
    "--typecode=1:ef00",
    "--change-name=1:EFI",
    "--new=2:0:+1M",
    "--typecode=2:ef02",
    "--change-name=2:bios",
    "--new=3:0:+512M",
    "--typecode=3:8200",
    "--change-name=3:swap",
    "--new=4:0:+16G",
    "--typecode=4:8302",
    "--change-name=4:home",
    "--new=5:0:0",
    "--typecode=5:8304",
    "--change-name=5:gentoo-root",
    image,
  ]);
  const { dev, detach } = attachLoop(image);
  const disk: WorkstationDisk = {
    dev,
    esp: `${dev}p1`,
    biosBoot: `${dev}p2`,
    swap: `${dev}p3`,
    home: `${dev}p4`,
    root: `${dev}p5`,
    image,
    detach,
  };
  try {
    fill(disk, o);
  } catch (err) {
    detach();
    throw err;
  }
  return disk;
}

function fill(disk: WorkstationDisk, o: { homeUuid: string; owners: HomeOwner[] }): void {
  try {
    sh("partx", ["--add", disk.dev]); // kernels that ignore --partscan (see loopdisk.ts)
  } catch {
    /* the kernel already scanned them */
  }
  sh("mkfs.vfat", ["-F", "32", "-n", "EFI", disk.esp]);
  sh("mkswap", [disk.swap]);
  sh("mkfs.btrfs", ["-q", "-f", disk.root]);
  sh("mkfs.xfs", ["-q", "-f", "-m", `uuid=${o.homeUuid}`, disk.home]);
  withMount(disk.root, (m) => {
    mkdirSync(join(m, "etc/ssh"), { recursive: true });
    const shell = (name: string) => (name === "carol" ? "/bin/zsh" : "/bin/bash");
    const users = o.owners.map(
      (u) => `${u.name}:x:${u.uid}:${u.gid}::/home/${u.name}:${shell(u.name)}`,
    );
    writeFileSync(
      join(m, "etc/passwd"),
      ["root:x:0:0:root:/root:/bin/bash", ...users, ""].join("\n"),
    );
    writeFileSync(
      join(m, "etc/shadow"),
      [
        "root:*:19000:0:99999:7:::",
        ...o.owners.map(
          (u) => `${u.name}:${u.name === "carol" ? OLD_CAROL_HASH : "!"}:19000:0:99999:7:::`,
        ),
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(m, "etc/group"),
      ["root:x:0:", ...o.owners.map((u) => `${u.name}:x:${u.gid}:`), ""].join("\n"),
    );
    writeFileSync(join(m, "etc/ssh/ssh_host_ed25519_key"), "OLD-WS-PRIVATE-KEY\n", { mode: 0o600 });
    writeFileSync(join(m, "etc/ssh/ssh_host_ed25519_key.pub"), "ssh-ed25519 AAAAWS ws1@old\n");
    writeFileSync(join(m, "OLD-ROOT-MARKER"), "the old Gentoo\n");
  });
  withMount(disk.home, (m) => {
    for (const u of o.owners) {
      const h = join(m, u.name);
      mkdirSync(join(h, ".config/nvim"), { recursive: true });
      writeFileSync(join(h, ".zshrc"), "setopt autocd\n");
      writeFileSync(join(h, ".config/nvim/init.lua"), "vim.o.number = true\n");
      writeFileSync(join(h, "photo.raw"), Buffer.alloc(200_000, u.uid));
      symlinkSync(".zshrc", join(h, "zshrc-link"));
      for (const p of [
        "",
        ".config",
        ".config/nvim",
        ".zshrc",
        ".config/nvim/init.lua",
        "photo.raw",
      ])
        chownSync(join(h, p), u.uid, u.gid);
      execFileSync("chown", ["-h", `${u.uid}:${u.gid}`, join(h, "zshrc-link")]);
      chmodSync(h, 0o700);
    }
  });
}
