// One compressed cpio layer on disk.
import { rename, rm, stat } from "node:fs/promises";
import { writeCpio } from "../cpio/write.ts";
import type { CpioRecord } from "../cpio/records.ts";
import { compressTo, type Compressor } from "../compress.ts";
import { sha256File } from "../../shared/hash.ts";

export interface LayerFile {
  file: string;
  compressor: Compressor;
  cpioBytes: number;
  bytes: number;
  sha256: string;
}

export async function writeLayer(
  records: readonly CpioRecord[],
  compressor: Compressor,
  file: string,
): Promise<LayerFile> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const z = compressTo(compressor, tmp);
    const cpioBytes = await writeCpio(records, z.input);
    z.input.end();
    await z.done;
    await rename(tmp, file);
    return {
      file,
      compressor,
      cpioBytes,
      bytes: (await stat(file)).size,
      sha256: await sha256File(file),
    };
  } catch (err) {
    await rm(tmp, { force: true });
    throw new Error(`layer ${file}: writing failed`, { cause: err });
  }
}
