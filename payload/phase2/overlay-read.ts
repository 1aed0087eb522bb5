// Fetches the run's overlay tar and reads it into memory. Overlays are
// config trees (kilobytes to a few megabytes); a cap keeps a wrong tree
// from exhausting the machine's RAM.
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import tar from "tar-stream";

export interface TarEntry {
  name: string;
  type: "file" | "directory" | "symlink";
  mode: number;
  uname: string;
  gname: string;
  linkname?: string;
  data: Buffer;
}

export const MAX_OVERLAY_BYTES = 256 * 1024 * 1024;

export function overlayUrl(server: string, token: string): string {
  return `${server.replace(/\/+$/, "")}/api/v1/run/${encodeURIComponent(token)}/overlay.tar`;
}

export async function fetchOverlay(
  server: string,
  token: string,
  fetchImpl: typeof globalThis.fetch = globalThis.fetch,
): Promise<TarEntry[]> {
  const url = overlayUrl(server, token);
  let res: Response;
  try {
    res = await fetchImpl(url);
  } catch (cause) {
    throw new Error(`overlay: GET ${url.replace(token, "<token>")}: request failed`, { cause });
  }
  if (!res.ok || !res.body) {
    throw new Error(`overlay: GET ${url.replace(token, "<token>")}: HTTP ${res.status}`);
  }
  return readTar(Readable.fromWeb(res.body as WebReadableStream));
}

export async function readTar(input: NodeJS.ReadableStream): Promise<TarEntry[]> {
  const extract = tar.extract();
  const entries: TarEntry[] = [];
  let total = 0;
  const done = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const chunks: Buffer[] = [];
      for await (const c of entry) {
        total += (c as Buffer).length;
        if (total > MAX_OVERLAY_BYTES)
          throw new Error(`overlay: larger than ${MAX_OVERLAY_BYTES} bytes`);
        chunks.push(c as Buffer);
      }
      if (h.type !== "file" && h.type !== "directory" && h.type !== "symlink") {
        throw new Error(`overlay: ${h.name}: entry type ${h.type} is not allowed`);
      }
      entries.push({
        name: h.name,
        type: h.type,
        mode: h.mode & 0o7777,
        uname: h.uname || "root",
        gname: h.gname || "root",
        ...(h.type === "symlink" ? { linkname: h.linkname } : {}),
        data: Buffer.concat(chunks),
      });
    }
  })();
  input.pipe(extract as unknown as NodeJS.WritableStream);
  input.on("error", (err: Error) => extract.destroy(err));
  await done;
  return entries;
}
