// Packs hosts/<host>/files/ into a tar stream at request time. The control
// plane serves it at GET /api/v1/run/:token/overlay.tar. Owners travel by
// name (uid/gid 0 in the header): the payload maps them through the new
// system's passwd/group, where the numbers are decided.
import { createReadStream } from "node:fs";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { scanOverlay, type OverlayEntry, type PackOptions } from "./scan.ts";

type HeaderArg = Partial<tar.Header> & Pick<tar.Header, "name">;

export { scanOverlay, OverlayError, symlinkDestination } from "./scan.ts";
export type { OverlayEntry, OverlayAttrs, PackOptions } from "./scan.ts";

/**
 * The tree as a tar stream. A refusal (path escaping the tree, symlink
 * pointing out, a special file) destroys the stream with an OverlayError;
 * callers that want to answer with an HTTP error first call scanOverlay().
 */
export function packOverlay(dir: string, opts: PackOptions = {}): NodeJS.ReadableStream {
  const pack = tar.pack();
  // tar-stream's pack is a streamx stream; hand out a plain Node stream.
  const out = new PassThrough();
  pack.on("error", (err: Error) => out.destroy(err));
  pack.pipe(out);
  scanOverlay(dir, opts)
    .then(async (entries) => {
      for (const e of entries) await addEntry(pack, e);
      pack.finalize();
    })
    .catch((err: unknown) => out.destroy(err as Error));
  return out;
}

async function addEntry(pack: tar.Pack, e: OverlayEntry): Promise<void> {
  const header: HeaderArg = {
    name: e.type === "directory" ? `${e.name}/` : e.name,
    type: e.type,
    mode: e.mode,
    uid: 0,
    gid: 0,
    uname: e.uname,
    gname: e.gname,
    mtime: e.mtime,
  };
  if (e.type === "symlink") {
    await entryDone(pack, { ...header, linkname: e.linkname! });
    return;
  }
  if (e.type === "directory") {
    await entryDone(pack, header);
    return;
  }
  let sink!: NodeJS.WritableStream;
  // The callback reports a size mismatch (file changed while packing).
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry({ ...header, size: e.size }, (err) => (err ? reject(err) : resolve()));
  });
  await Promise.all([pipeline(createReadStream(e.source), sink), done]);
}

function entryDone(pack: tar.Pack, header: HeaderArg): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
}
