// cpio "newc" (SVR4, magic 070701) encoder: the format the Linux kernel
// unpacks as an initramfs (Documentation/driver-api/early-userspace/
// buffer-format.rst). Pure: entries in, byte chunks out.
//
// Each record: a 110-byte ASCII header (magic + 13 eight-digit hex fields),
// the NUL-terminated name padded so header+name is a multiple of 4, then the
// data padded to a multiple of 4. The archive ends with "TRAILER!!!".

export interface CpioHeader {
  /** Path inside the archive, without a leading "/" (e.g. "usr/bin/busybox"). */
  name: string;
  /** Full st_mode: file type bits and permissions. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  ino: number;
  devMajor: number;
  devMinor: number;
  rdevMajor: number;
  rdevMinor: number;
  /** Length of the body that follows the header. */
  filesize: number;
}

export interface CpioEntry extends Omit<CpioHeader, "filesize"> {
  /** File body (regular files) or link target (symlinks); empty otherwise. */
  data: Uint8Array;
}

export const NEWC_MAGIC = "070701";
export const TRAILER = "TRAILER!!!";
const HEADER_LEN = 110;
const MAX_FIELD = 0xffffffff;

function hex8(value: number, field: string, name: string): string {
  if (!Number.isInteger(value) || value < 0 || value > MAX_FIELD) {
    throw new RangeError(`cpio newc: ${name}: ${field} ${value} does not fit 8 hex digits`);
  }
  return value.toString(16).toUpperCase().padStart(8, "0");
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Pure: header + name (+ padding) for one entry; the caller appends the data and `dataPadding`. */
export function encodeHeader(e: CpioHeader): Buffer {
  const nameBytes = Buffer.from(e.name, "utf8");
  if (nameBytes.includes(0))
    throw new RangeError(`cpio newc: ${JSON.stringify(e.name)}: name contains NUL`);
  const namesize = nameBytes.length + 1;
  const fields: Array<[string, number]> = [
    ["ino", e.ino],
    ["mode", e.mode],
    ["uid", e.uid],
    ["gid", e.gid],
    ["nlink", e.nlink],
    ["mtime", e.mtime],
    ["filesize", e.filesize],
    ["devmajor", e.devMajor],
    ["devminor", e.devMinor],
    ["rdevmajor", e.rdevMajor],
    ["rdevminor", e.rdevMinor],
    ["namesize", namesize],
    ["check", 0],
  ];
  const head = NEWC_MAGIC + fields.map(([f, v]) => hex8(v, f, e.name)).join("");
  const total = HEADER_LEN + namesize;
  const out = Buffer.alloc(total + pad4(total));
  out.write(head, 0, "latin1");
  nameBytes.copy(out, HEADER_LEN);
  return out;
}

/** Bytes of padding after `size` bytes of data. */
export function dataPadding(size: number): Buffer {
  return Buffer.alloc(pad4(size));
}

/** The closing record, as GNU cpio writes it (nlink 1, everything else 0). */
export function trailer(): Buffer {
  return encodeHeader({
    name: TRAILER,
    mode: 0,
    uid: 0,
    gid: 0,
    nlink: 1,
    mtime: 0,
    ino: 0,
    devMajor: 0,
    devMinor: 0,
    rdevMajor: 0,
    rdevMinor: 0,
    filesize: 0,
  });
}

/** Pure: a whole archive as chunks (for small archives and tests). */
export function* encodeArchive(entries: Iterable<CpioEntry>): Generator<Uint8Array> {
  for (const e of entries) {
    yield encodeHeader({ ...e, filesize: e.data.length });
    if (e.data.length > 0) {
      yield e.data;
      yield dataPadding(e.data.length);
    }
  }
  yield trailer();
}

/** Pure: the whole archive in one buffer. */
export function encodeArchiveToBuffer(entries: Iterable<CpioEntry>): Buffer {
  return Buffer.concat([...encodeArchive(entries)]);
}
