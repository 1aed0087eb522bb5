// Compressors for initramfs layers. The Debian kernel unpacks gzip, xz and
// zstd (CONFIG_RD_*); which one wins is a trade of bytes on the wire against
// the kernel's unpack time under emulation — see docs/PERFORMANCE.md.
import { createWriteStream } from "node:fs";
import { execa } from "execa";
import type { Writable } from "node:stream";

export interface Compressor {
  name: "zstd" | "gzip" | "xz" | "none";
  level: number;
}

// zstd -9: kernel unpack under TCG is as fast as -3 and 2-4 s faster than -15/-19
// (bigger windows), 13 MiB smaller than -3 (docs/PERFORMANCE.md).
export const DEFAULT_BASE_COMPRESSOR: Compressor = { name: "zstd", level: 9 };
export const DEFAULT_PAYLOAD_COMPRESSOR: Compressor = { name: "zstd", level: 9 };

/** Pure: file extension for a compressed layer. */
export function extensionOf(c: Compressor): string {
  return { zstd: ".zst", gzip: ".gz", xz: ".xz", none: "" }[c.name];
}

/** Pure: argv of a compressor reading stdin and writing stdout. */
export function compressorArgv(c: Compressor): string[] {
  switch (c.name) {
    case "zstd":
      // no --long: the kernel's decompressor allocates for the frame's window
      return ["zstd", "-q", "-c", `-${c.level}`, "-T0"];
    case "gzip":
      return ["gzip", "-c", `-${c.level}`, "-n"];
    case "xz":
      // the kernel's xz unpacker only knows CRC32 checks
      return ["xz", "-c", `-${c.level}`, "--check=crc32", "-T0"];
    case "none":
      return ["cat"];
  }
}

/** Pure: parses "zstd", "zstd:19", "gzip:9", "xz:6", "none". */
export function parseCompressor(text: string): Compressor {
  const [name, lvl] = text.split(":");
  const defaults: Record<string, number> = { zstd: 9, gzip: 9, xz: 6, none: 0 };
  if (name === undefined || !(name in defaults)) {
    throw new Error(
      `compressor ${JSON.stringify(text)}: expected zstd[:level], gzip[:level], xz[:level] or none`,
    );
  }
  const level = lvl === undefined ? defaults[name]! : Number(lvl);
  if (!Number.isInteger(level) || level < 0 || level > 22)
    throw new Error(`compressor ${text}: bad level ${lvl}`);
  return { name: name as Compressor["name"], level };
}

/**
 * Starts a compressor writing to `outFile`; returns the stream to write the
 * archive into and a promise for its end.
 */
export function compressTo(
  c: Compressor,
  outFile: string,
): { input: Writable; done: Promise<void> } {
  const [cmd, ...args] = compressorArgv(c);
  const out = createWriteStream(outFile);
  const proc = execa(cmd!, args, {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    buffer: { stdout: false },
  });
  proc.stdout!.pipe(out);
  const done = (async () => {
    try {
      await proc;
    } catch (err) {
      throw new Error(`${cmd} -> ${outFile}: compression failed`, { cause: err });
    }
    if (!out.writableFinished)
      await new Promise<void>((res, rej) => out.once("finish", res).once("error", rej));
  })();
  return { input: proc.stdin!, done };
}
