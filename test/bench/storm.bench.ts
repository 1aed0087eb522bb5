// Boot storm (#19): N machines power on within a spread and each walks the
// whole path: DHCP as PXE firmware, TFTP undionly.kpxe (a share of them),
// DHCP as iPXE, boot.ipxe, kernel and initrd (sha256-checked), then for
// armed hosts the spec, an event batch a second for the install's length and
// run-done. Against `automagic serve -c serve.yaml` (state on the real disk,
// var/bench/storm) and, in the same run, dnsmasq (DHCP + TFTP) + nginx for
// the shared part (DHCP -> loader -> script -> kernel + initrd).
//
//   npx tsx test/bench/storm.bench.ts
//   STORM_N=100,300 STORM_SPREAD_S=10 STORM_INITRD_MIB=100 STORM_INSTALL_S=10 npx tsx test/bench/storm.bench.ts
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { format, type StormReport } from "./storm/report.ts";
import { storm, type StormOptions } from "./storm/run.ts";
import { automagicStack, peerStack } from "./storm/stacks.ts";
import { freshDir, makeHosts, makeImage } from "./storm/world.ts";

const env = (k: string, d: string) => process.env[k] ?? d;
const NS = env("STORM_N", "100,300").split(",").map(Number);
const base = {
  spreadMs: Number(env("STORM_SPREAD_S", "10")) * 1000,
  tftpShare: Number(env("STORM_TFTP_SHARE", "0.25")),
  installSeconds: Number(env("STORM_INSTALL_S", "10")),
};
const KERNEL_MIB = Number(env("STORM_KERNEL_MIB", "8"));
const INITRD_MIB = Number(env("STORM_INITRD_MIB", "100"));
const work = join(import.meta.dirname, "../../var/bench/storm");

async function main(): Promise<void> {
  freshDir(work);
  const image = makeImage(work, KERNEL_MIB, INITRD_MIB);
  console.log(
    `storm bench: N=${NS.join(",")} within ${base.spreadMs / 1000} s, ${base.tftpShare * 100}% via TFTP, ` +
      `kernel ${KERNEL_MIB} MiB + initrd ${INITRD_MIB} MiB, install ${base.installSeconds} s of events`,
  );
  const reports: StormReport[] = [];
  for (const n of NS) {
    const o: StormOptions = { ...base, n, armed: n };
    const dir = freshDir(join(work, `automagic-${n}`));
    const am = await automagicStack(dir, image, makeHosts(dir, n), n);
    try {
      reports.push(await storm(am, o, image, dir));
    } finally {
      await am.stop();
    }
    reports[reports.length - 1]!.stateBytes = am.stateBytes(); // after the WAL checkpoint at stop
    console.log(format(reports[reports.length - 1]!));
    const pdir = freshDir(join(work, `peer-${n}`));
    const peer = await peerStack(pdir, image);
    try {
      reports.push(await storm(peer, o, image, pdir));
    } finally {
      await peer.stop();
    }
    console.log(format(reports[reports.length - 1]!));
    const [a, p] = reports.slice(-2) as [StormReport, StormReport];
    console.log(
      `          ratio automagic/peer, time to the last initrd: ${(a.lastInitrdMs / p.lastInitrdMs).toFixed(2)}`,
    );
  }
  writeFileSync(
    join(work, "result.json"),
    `${JSON.stringify({ ...base, KERNEL_MIB, INITRD_MIB, reports }, null, 1)}\n`,
  );
}

await main();
