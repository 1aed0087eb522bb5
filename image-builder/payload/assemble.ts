// One executable file: SEA runtime + bundle + trailer (see trailer.ts).
import { chmod, copyFile, mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { bundleTrailer } from "./trailer.ts";

/** Pure: the bytes appended to the runtime. */
export function bundleTail(bundle: Uint8Array): Buffer {
  return Buffer.concat([bundle, bundleTrailer(bundle.length)]);
}

/** Writes runtime + tail to `out` (atomically); returns the tail. */
export async function assemblePayload(
  runtime: string,
  bundleFile: string,
  out: string,
): Promise<Buffer> {
  const tail = bundleTail(await readFile(bundleFile));
  await mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  await copyFile(runtime, tmp);
  const fh = await open(tmp, "a");
  try {
    await fh.write(tail);
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o755);
  await rename(tmp, out);
  return tail;
}
