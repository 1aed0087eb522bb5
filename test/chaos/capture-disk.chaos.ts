// capture-disk: `automagic serve` from a config file inside a namespace pair
// made here, its state folder on a 64 MiB tmpfs (a real disk that fills), a
// capture of qemu-bios armed through the CLI and booted from a namespace
// whose interface has the host's MAC (capture-bed.ts).
//   1. an upload bigger than the free space: with Content-Length (curl -T
//      file) and without (chunked, as the payload sends it);
//   2. a 60 s network drop mid-upload, the sending client paused for 60 s:
//      with sysimgs.idleTimeout 20 s (the server cuts it; then a re-armed
//      capture) and, on a second server, with 90 s (the upload resumes).
// Measured: the answer and when it came, the server's cut from its log, and
// <stateDir>/sysimgs listed before, during and after.
// Verdict ok: refused (507) or cut with nothing half-written left, the retry
// stored; the resumed upload stored with the sent sha256.
//   npx tsx test/chaos/capture-disk.chaos.ts    (or: bash test/chaos/run.sh capture-disk)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { row } from "./row.ts";
import {
  loggedAt,
  sha256,
  sleep,
  startCaptureBed,
  type CaptureBed,
  type PutResult,
} from "../integration/control/capture-bed.ts";

const MiB = 1 << 20;
const DROP_MS = 60_000;
const list = (files: string[]) => (files.length ? files.join(", ") : "empty");
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const answer = (r: PutResult) =>
  r.status ? `HTTP ${r.status} ${r.body.slice(0, 400)}` : `no answer (${r.error.trim()})`;

const bedWith = (idleTimeout: string) =>
  startCaptureBed({
    disk: "64m",
    config: [`sysimgs: { maxBytes: 1G, keepFree: 4M, idleTimeout: ${idleTimeout} }`],
  });

/** 1: uploads bigger than the free space, with and without a length. */
async function tooBig(bed: CaptureBed, scratch: string): Promise<void> {
  const token = await bed.arm();
  const file = join(scratch, "100m");
  writeFileSync(file, Buffer.alloc(100 * MiB, 1));
  const before = bed.files();
  const declared = await bed.put(token, { file });
  const afterDeclared = bed.files();
  row(
    "capture-disk: upload > free space, Content-Length",
    "curl -T of a 100 MiB file to a state folder on a 64 MiB tmpfs (keepFree 4 MiB)",
    `${answer(declared)} after ${declared.ms.toFixed(0)} ms; sysimgs/ before: ${list(before)}, after: ${list(afterDeclared)}`,
    declared.status === 507 && afterDeclared.join() === before.join(),
  );
  const chunked = await bed.put(token, {
    feed: async (write) => {
      for (let i = 0; i < 400; i += 1) await write(Buffer.alloc(256 * 1024, i));
    },
  });
  const afterChunked = bed.files();
  row(
    "capture-disk: upload > free space, chunked",
    "100 MiB streamed without a length (as the payload's tar | zstd), same disk",
    `${answer(chunked)} after ${chunked.ms.toFixed(0)} ms; sysimgs/ after: ${list(afterChunked)}`,
    chunked.status === 507 && afterChunked.join() === before.join(),
  );
}

interface Dropped {
  result: PutResult;
  sent: Buffer[];
  /** Epoch ms the client went quiet. */
  quietAt: number;
  /** sysimgs/ listed 5 s before the client resumes. */
  during: string[];
}

/** 8 MiB, then the client silent for DROP_MS, then 8 MiB more. */
async function dropMidUpload(bed: CaptureBed, token: string): Promise<Dropped> {
  const sent: Buffer[] = [];
  const d: Dropped = { result: undefined!, sent, quietAt: 0, during: [] };
  const half = async (write: (b: Buffer) => Promise<void>, fill: number) => {
    for (let i = 0; i < 32; i += 1) {
      const b = Buffer.alloc(256 * 1024, fill + i);
      sent.push(b);
      await write(b);
    }
  };
  d.result = await bed.put(token, {
    feed: async (write) => {
      await half(write, 0);
      d.quietAt = Date.now();
      await sleep(DROP_MS - 5000);
      d.during = bed.files();
      await sleep(5000);
      await half(write, 100);
    },
  });
  return d;
}

/** 2a: idle timeout below the drop: cut, nothing left, a re-armed capture succeeds. */
async function dropCut(bed: CaptureBed): Promise<void> {
  const before = bed.files();
  const d = await dropMidUpload(bed, await bed.arm());
  const cutAt = loggedAt(bed.served.log(), /http: cut off: upload idle for 20 s/);
  const after = bed.files();
  const retryToken = await bed.arm();
  const body = Buffer.alloc(8 * MiB, 9);
  const retry = await bed.put(retryToken, { feed: (write) => write(body) });
  const got = retry.status === 200 ? (JSON.parse(retry.body) as { name: string }) : undefined;
  const commit = got ? await bed.commit(retryToken, sha256(body)) : undefined;
  const listed = await bed.listed();
  row(
    "capture-disk: 60 s drop mid-upload, idleTimeout 20 s",
    "8 MiB sent, the client paused 60 s, then sent 8 MiB more; then the capture re-armed and uploaded again",
    `server cut the upload ${cutAt ? secs(cutAt - d.quietAt) : "NEVER"} after its last byte; ` +
      `client on resuming: ${answer(d.result)}; sysimgs/ before: ${list(before)}, during the drop: ${list(d.during)}, ` +
      `after: ${list(after)}; retry: upload ${retry.status}, commit ${commit?.status ?? "-"}, listed: ${list(listed)}`,
    cutAt !== undefined &&
      d.result.status !== 200 &&
      d.during.join() === before.join() &&
      after.join() === before.join() &&
      commit?.status === 200 &&
      got !== undefined &&
      listed.includes(got.name),
  );
}
/** 2b: idle timeout above the drop: the upload resumes and is stored. */
async function dropResumed(bed: CaptureBed): Promise<void> {
  const tok = await bed.arm();
  const d = await dropMidUpload(bed, tok);
  const got =
    d.result.status === 200
      ? (JSON.parse(d.result.body) as { name: string; sha256: string })
      : undefined;
  const want = sha256(Buffer.concat(d.sent));
  const commit = got ? await bed.commit(tok, got.sha256) : undefined;
  const listed = await bed.listed();
  row(
    "capture-disk: 60 s drop mid-upload, idleTimeout 90 s",
    "8 MiB sent, the client paused 60 s, then sent 8 MiB more",
    `${answer(d.result)} after ${secs(d.result.ms)}; sha256 ${got?.sha256 === want ? "matches what was sent" : "DIFFERS"}; ` +
      `sysimgs/ during the drop: ${list(d.during)}; commit ${commit?.status ?? "-"}, listed: ${list(listed)}`,
    got?.sha256 === want && commit?.status === 200 && listed.includes(got.name),
  );
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), "am-chaos-capture-"));
  const beds: CaptureBed[] = [];
  try {
    const [a, b] = await Promise.all([bedWith("20s"), bedWith("90s")]);
    beds.push(a, b);
    await Promise.all([
      (async () => {
        await tooBig(a, scratch);
        await dropCut(a);
      })(),
      dropResumed(b),
    ]);
  } finally {
    for (const bed of beds) await bed.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
