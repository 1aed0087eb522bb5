// What the storm serves, on the real disk: a netboot image (kernel and
// initrd of chosen sizes, hashed once), and a hosts folder with one host file
// per simulated machine, derived from hosts/qemu-bios.yaml with its own MAC.
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  cpSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { REPO } from "../../integration/control/serve-process.ts";
import type { Expected } from "./machine.ts";

export const LOADER = "/usr/lib/ipxe/undionly.kpxe";

/** A file of `mib` MiB of random bytes; returns its sha256. */
function randomFile(path: string, mib: number): string {
  const h = createHash("sha256");
  const fd = openSync(path, "w");
  for (let i = 0; i < mib; i++) {
    const chunk = randomBytes(1 << 20);
    h.update(chunk);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  return h.digest("hex");
}

export interface Image {
  imagesDir: string;
  kernel: string;
  initrd: string;
  expected: Omit<Expected, "installSeconds" | "iface">;
}

/** images/s1/{vmlinuz,initrd.img} and images/current -> s1, as the image builder leaves them. */
export function makeImage(dir: string, kernelMiB: number, initrdMiB: number): Image {
  const imagesDir = join(dir, "images");
  mkdirSync(join(imagesDir, "s1"), { recursive: true });
  const kernel = join(imagesDir, "s1/vmlinuz");
  const initrd = join(imagesDir, "s1/initrd.img");
  const kernelSha256 = randomFile(kernel, kernelMiB);
  const initrdSha256 = randomFile(initrd, initrdMiB);
  symlinkSync("s1", join(imagesDir, "current"));
  const loaderSha256 = createHash("sha256").update(readFileSync(LOADER)).digest("hex");
  return { imagesDir, kernel, initrd, expected: { kernelSha256, initrdSha256, loaderSha256 } };
}

export function stormMac(i: number): string {
  return `52:54:01:00:${((i >> 8) & 0xff).toString(16).padStart(2, "0")}:${(i & 0xff).toString(16).padStart(2, "0")}`;
}

export function stormHost(i: number): string {
  return `storm-${String(i).padStart(4, "0")}`;
}

/** The repo's hosts/ plus storm-NNNN.yaml for machines 0..n-1: what an operator's generator would write. */
export function makeHosts(dir: string, n: number): string {
  const hostsDir = join(dir, "hosts");
  cpSync(join(REPO, "hosts"), hostsDir, { recursive: true });
  // qemu-bios's overlay files live in its own folder; a generated host has none.
  const template = readFileSync(join(REPO, "hosts/qemu-bios.yaml"), "utf8").replace(
    /^overlay:\n(?:[ #].*\n)*/m,
    "",
  );
  for (let i = 0; i < n; i++) {
    const text = template.replace(/^macs: .*$/m, `macs: ["${stormMac(i)}"]`);
    writeFileSync(join(hostsDir, `${stormHost(i)}.yaml`), text);
  }
  return hostsDir;
}

/** An empty folder (removed first when it is there). */
export function freshDir(path: string): string {
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path, { recursive: true });
  return path;
}
