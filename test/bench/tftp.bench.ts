// TFTP: time to fetch 1 MiB and 30 MiB files from our server and from
// tftpd-hpa (in.tftpd, run by hand on loopback, never as a service), same
// client, same run. Clients: tftp-hpa (RFC 1350 only: blksize 512, no
// options) and atftp (blksize, and windowsize which tftpd-hpa 5.2 does not
// support, so there it falls back to lock-step at the same blksize).
// Prints medians and ratios (tftpd-hpa time / our time; > 1 means we are faster).
// Lock-step TFTP is one round trip per block, so where the scheduler puts
// client and server decides the figure (measured here: 0.84 s vs 3.2 s for
// the same 30 MiB from tftpd-hpa, same core vs two cores). Both servers are
// pinned to the last CPU and every case runs twice: client on the same CPU,
// and client on CPU 0 (cross-core). Unpinned runs swung 0.45-0.95.
// For the plain lock-step case a third server runs too: tftp-floor.ts, the
// least a Node server can do per packet, to show how much of the gap to
// tftpd-hpa is ours and how much is the runtime's.
//   npx tsx test/bench/tftp.bench.ts [rounds]
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { requireTool } from "../lib/tools.ts";
import { waitFor } from "../lib/wait.ts";

const HOST = "127.0.0.1";
const OURS = 16969;
const HPA = 16970;
const FLOOR = 16971;
const rounds = Number(process.argv[2] ?? 5);

interface Case {
  name: string;
  /** The case tftp-floor.ts can serve (no options, blksize 512). */
  floor?: boolean;
  cmd: string;
  args(port: number, file: string, out: string): string[];
}
const cases: Case[] = [
  {
    name: "tftp-hpa blksize 512",
    floor: true,
    cmd: "tftp",
    args: (port, file, out) => ["-m", "binary", HOST, String(port), "-c", "get", file, out],
  },
  {
    name: "atftp blksize 1468",
    cmd: "atftp",
    args: (port, file, out) => [
      "--option",
      "blksize 1468",
      "-g",
      "-r",
      file,
      "-l",
      out,
      HOST,
      String(port),
    ],
  },
  {
    name: "atftp blksize 1468 windowsize 8",
    cmd: "atftp",
    args: (port, file, out) => [
      ...["--option", "blksize 1468", "--option", "windowsize 8"],
      ...["-g", "-r", file, "-l", out, HOST, String(port)],
    ],
  },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const SERVER_CPU = String(Math.max(0, availableParallelism() - 1));
/** Client placements: beside the servers, and (with 2+ CPUs) on another core. */
const PLACEMENTS: Array<{ name: string; cpu: string }> = [
  { name: "same core", cpu: SERVER_CPU },
  ...(SERVER_CPU !== "0" ? [{ name: "cross-core", cpu: "0" }] : []),
];

async function timeFetch(
  c: Case,
  cpu: string,
  port: number,
  file: string,
  dir: string,
  want: Buffer,
): Promise<number> {
  const out = join(dir, "out.bin");
  await rm(out, { force: true });
  const t0 = performance.now();
  await execa("taskset", ["-c", cpu, c.cmd, ...c.args(port, file, out)], { timeout: 120_000 });
  const ms = performance.now() - t0;
  if (!want.equals(await readFile(out)))
    throw new Error(`bench: ${c.name} port ${port}: ${file} differs`);
  return ms;
}

async function main() {
  for (const t of ["tftp", "atftp", "in.tftpd", "taskset"]) requireTool(t);
  const dir = await mkdtemp(join(tmpdir(), "am-tftp-bench-"));
  const root = join(dir, "root");
  let ours: ResultPromise | undefined;
  let hpa: ResultPromise | undefined;
  let floor: ResultPromise | undefined;
  try {
    await execa("mkdir", ["-p", root]);
    await chmod(dir, 0o755); // in.tftpd drops to nobody
    const files = { "1m.bin": randomBytes(1 << 20), "30m.bin": randomBytes(30 << 20) };
    for (const [f, data] of Object.entries(files))
      await writeFile(join(root, f), data, { mode: 0o644 });
    const pin = ["taskset", "-c", SERVER_CPU];
    hpa = execa(
      pin[0]!,
      [...pin.slice(1), requireTool("in.tftpd"), "-L", "-s", "-a", `${HOST}:${HPA}`, root],
      {
        reject: false,
      },
    );
    ours = execa(
      pin[0]!,
      [
        ...pin.slice(1),
        "node",
        "--import",
        "tsx",
        "test/integration/tftp/serve-in-ns.ts",
        root,
        HOST,
        String(OURS),
      ],
      {
        stdin: "pipe",
        reject: false,
      },
    );
    floor = execa(
      pin[0]!,
      [...pin.slice(1), "node", "--import", "tsx", "test/bench/tftp-floor.ts", root, String(FLOOR)],
      { reject: false },
    );
    // Ready is each server's socket listening, not a guess at how long that takes.
    await waitFor("the three TFTP servers listening", async () => {
      const ss = await execa("ss", ["-Hlun"], { reject: false });
      return [OURS, HPA, FLOOR].every((p) => String(ss.stdout).includes(`${HOST}:${p} `));
    });
    console.log(
      `tftp bench: ${rounds} rounds, medians in ms; ratio = tftpd-hpa / ours; servers on CPU ${SERVER_CPU}`,
    );
    for (const place of PLACEMENTS) {
      for (const [file, want] of Object.entries(files)) {
        for (const c of cases) {
          const ports = { ours: OURS, hpa: HPA, floor: FLOOR };
          const t = { ours: [] as number[], hpa: [] as number[], floor: [] as number[] };
          for (let i = 0; i < rounds; i++) {
            // Rotate who goes first so drift in machine load hits all.
            const who: Array<keyof typeof t> = c.floor ? ["ours", "hpa", "floor"] : ["ours", "hpa"];
            for (let k = 0; k < who.length; k++) {
              const w = who[(i + k) % who.length]!;
              t[w].push(await timeFetch(c, place.cpu, ports[w], file, dir, want));
            }
          }
          const o = median(t.ours);
          const h = median(t.hpa);
          const f = c.floor ? `  node floor ${median(t.floor).toFixed(0).padStart(6)}` : "";
          console.log(
            `${place.name.padEnd(10)} ${file.padEnd(8)} ${c.name.padEnd(32)} ours ${o
              .toFixed(0)
              .padStart(
                6,
              )}  tftpd-hpa ${h.toFixed(0).padStart(6)}  ratio ${(h / o).toFixed(2)}${f}`,
          );
        }
      }
    }
  } finally {
    for (const p of [ours, hpa, floor]) p?.kill();
    await Promise.allSettled([ours, hpa, floor]);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
