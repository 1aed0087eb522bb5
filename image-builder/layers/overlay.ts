// Records of the two small layers on top of the base: the SEA runtime
// (cached) and the payload layer (bundle, boot scripts, image config; rebuilt
// in seconds). Pure: inputs in, ordered records out.
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, type Body, type CpioRecord } from "../cpio/records.ts";

export const RUNTIME_PATH = "usr/local/lib/automagic/runtime";
export const BUNDLE_TAIL_PATH = "usr/local/lib/automagic/bundle.tail";
/** Where the boot script joins runtime + bundle.tail (the same single file as build/payload/automagic-install). */
export const PAYLOAD_PATH = "usr/local/bin/automagic-install";

/** busybox applets the image needs under their own names (Debian's busybox installs no links). */
export const BUSYBOX_LINKS: ReadonlyArray<readonly [name: string, target: string]> = [
  ["init", "usr/bin/busybox"],
  ["usr/sbin/init", "../bin/busybox"],
  ["usr/sbin/reboot", "../bin/busybox"],
  ["usr/sbin/poweroff", "../bin/busybox"],
  ["usr/sbin/halt", "../bin/busybox"],
];

function rec(name: string, mode: number, body: Body, mtime: number): CpioRecord {
  return {
    name,
    mode,
    uid: 0,
    gid: 0,
    nlink: (mode & S_IFMT) === S_IFDIR ? 2 : 1,
    mtime,
    ino: 0,
    devMajor: 0,
    devMinor: 0,
    rdevMajor: 0,
    rdevMinor: 0,
    body,
  };
}

export const dir = (name: string, mtime: number) =>
  rec(name, S_IFDIR | 0o755, { kind: "none" }, mtime);
export const file = (name: string, perm: number, body: Body, mtime: number) =>
  rec(name, S_IFREG | perm, body, mtime);
export const link = (name: string, target: string, mtime: number) =>
  rec(name, S_IFLNK | 0o777, { kind: "bytes", bytes: Buffer.from(target) }, mtime);

/** Pure: parents of a path, outermost first ("a/b/c" -> ["a", "a/b"]). */
export function parentsOf(name: string): string[] {
  const parts = name.split("/");
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
}

/**
 * Pure: records for `files`, each preceded by its parent directories once,
 * sorted by name, inode numbers from 1 (no hard links in these layers).
 */
export function layerRecords(files: readonly CpioRecord[], mtime: number): CpioRecord[] {
  const byName = new Map<string, CpioRecord>();
  for (const f of files) {
    for (const p of parentsOf(f.name)) if (!byName.has(p)) byName.set(p, dir(p, mtime));
    byName.set(f.name, f);
  }
  return [...byName.values()]
    .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
    .map((r, i) => ({ ...r, ino: i + 1 }));
}

/**
 * Pure: a rootfs/ record as it goes into the image — owned by root, modes
 * normalised (a checkout's umask must not leak into the image).
 */
export function normaliseRootfsRecord(r: CpioRecord, mtime: number): CpioRecord {
  const type = r.mode & S_IFMT;
  const perm = type === S_IFDIR ? 0o755 : type === S_IFLNK ? 0o777 : r.mode & 0o111 ? 0o755 : 0o644;
  return { ...rec(r.name, type | perm, r.body, mtime), nlink: r.nlink };
}

export interface PayloadLayerInput {
  rootfs: readonly CpioRecord[];
  bundleTail: Uint8Array;
  buildInfo: string;
  imageLabel: string;
  mtime: number;
}

/** Pure: everything in the payload layer. */
export function payloadLayerRecords(input: PayloadLayerInput): CpioRecord[] {
  const m = input.mtime;
  const files: CpioRecord[] = [
    ...input.rootfs
      .filter((r) => r.name !== "." && (r.mode & S_IFMT) !== S_IFDIR)
      .map((r) => normaliseRootfsRecord(r, m)),
    file(BUNDLE_TAIL_PATH, 0o644, { kind: "bytes", bytes: input.bundleTail }, m),
    file(
      "etc/automagic/build.json",
      0o644,
      { kind: "bytes", bytes: Buffer.from(input.buildInfo) },
      m,
    ),
    file(
      "etc/automagic/image-id",
      0o644,
      { kind: "bytes", bytes: Buffer.from(input.imageLabel + "\n") },
      m,
    ),
    ...BUSYBOX_LINKS.map(([n, t]) => link(n, t, m)),
  ];
  return layerRecords(files, m);
}

/** Pure: the runtime layer (one big file). */
export function runtimeLayerRecords(
  runtimePath: string,
  size: number,
  mtime: number,
): CpioRecord[] {
  return layerRecords(
    [file(RUNTIME_PATH, 0o755, { kind: "file", path: runtimePath, size }, mtime)],
    mtime,
  );
}
