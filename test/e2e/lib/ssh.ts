// SSH into a test machine from inside the testbed namespace, with the key the
// test put into the host file. Host keys are not pinned here: the test checks
// the host key's fingerprint itself.
import type { Testbed } from "../../lib/testbed.ts";

const OPTS = [
  "-o",
  "BatchMode=yes",
  "-o",
  "StrictHostKeyChecking=no",
  "-o",
  "UserKnownHostsFile=/dev/null",
  "-o",
  "ConnectTimeout=5",
  "-o",
  "LogLevel=ERROR",
];

export async function sshTo(
  bed: Testbed,
  ip: string,
  keyFile: string,
  cmd: string,
  user = "root",
): Promise<string> {
  const r = await bed.exec("ssh", [...OPTS, "-i", keyFile, `${user}@${ip}`, cmd], {
    reject: false,
  });
  if (r.exitCode !== 0) {
    throw new Error(`ssh ${user}@${ip} '${cmd}' exited ${r.exitCode}: ${String(r.stderr).trim()}`);
  }
  return String(r.stdout);
}

export async function waitForSsh(
  bed: Testbed,
  ip: string,
  keyFile: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      await sshTo(bed, ip, keyFile, "true");
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  throw new Error(`no SSH login to ${ip} within ${timeoutMs / 1000} s`, { cause: last });
}
