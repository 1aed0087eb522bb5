// How `reinstall --via ssh|kexec` reaches the machine: the operator's OpenSSH
// client (their agent, or -i KEY), never a password prompt (BatchMode), and
// host keys checked as their ssh config says (--accept-new maps to
// StrictHostKeyChecking=accept-new; nothing disables the check). The remote
// commands are built here as text, so tests read them without a machine.
import { execa } from "execa";
import { REMOTE } from "../policy/reinstall.ts";
import { CliError } from "./exit-codes.ts";

export interface SshTarget {
  address: string;
  /** -i KEY. */
  identity?: string;
  /** --accept-new: trust a host key seen for the first time (OpenSSH's accept-new). */
  acceptNew?: boolean;
  /** --ssh-option KEY=VALUE, each passed as -o. */
  options?: string[];
}

/** One word for a POSIX shell. */
export function shq(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** ssh's argv (without "ssh") that runs `command` as root on the target. */
export function sshArgv(t: SshTarget, command: string): string[] {
  return [
    "-o",
    "BatchMode=yes",
    ...(t.acceptNew ? ["-o", "StrictHostKeyChecking=accept-new"] : []),
    ...(t.identity ? ["-i", t.identity, "-o", "IdentitiesOnly=yes"] : []),
    ...(t.options ?? []).flatMap((o) => ["-o", o]),
    "-l",
    "root",
    t.address,
    command,
  ];
}

/** Writes stdin to the payload path (atomically) and prints its sha256: the CLI compares. */
export function copyPayloadCommand(): string {
  const part = `${REMOTE.payload}.part`;
  return [
    "umask 077",
    `mkdir -p ${REMOTE.dir}`,
    `cat > ${part}`,
    `chmod 0700 ${part}`,
    `mv -f ${part} ${REMOTE.payload}`,
    `sha256sum ${REMOTE.payload}`,
  ].join(" && ");
}

/** Writes stdin (the token) to a 0600 file and starts the payload detached from the session. */
export function startPayloadCommand(argv: string[]): string {
  return [
    "umask 077",
    `cat > ${REMOTE.token}`,
    `chmod 0600 ${REMOTE.token}`,
    `(setsid nohup ${argv.map(shq).join(" ")} >> ${REMOTE.log} 2>&1 < /dev/null &)`,
    "echo started",
  ].join(" && ");
}

export interface KexecFiles {
  kernelUrl: string;
  initrdUrl: string;
  kernelSha256: string;
  initrdSha256: string;
  cmdline: string;
}

/**
 * Fetches kernel and initrd with the run's token, checks their sha256,
 * loads them with the netboot command line and jumps a second later, after
 * the ssh session has closed.
 */
export function kexecCommand(k: KexecFiles): string {
  return [
    "set -e",
    "umask 077",
    `mkdir -p ${REMOTE.dir}`,
    `cd ${REMOTE.dir}`,
    'get() { if command -v curl >/dev/null; then curl -fsS -o "$2" "$1"; else wget -q -O "$2" "$1"; fi; }',
    `get ${shq(k.kernelUrl)} vmlinuz`,
    `get ${shq(k.initrdUrl)} initrd.img`,
    `printf '%s  %s\\n' ${k.kernelSha256} vmlinuz ${k.initrdSha256} initrd.img | sha256sum -c --quiet`,
    `kexec -l vmlinuz --initrd=initrd.img --command-line=${shq(k.cmdline)}`,
    `(setsid nohup sh -c 'sleep 1; kexec -e' >> ${REMOTE.log} 2>&1 < /dev/null &)`,
    "echo loaded",
  ].join("\n");
}

/** Runs ssh; a failure names the step and carries what ssh printed. */
export async function ssh(
  t: SshTarget,
  step: string,
  command: string,
  input?: { file: string } | { text: string },
): Promise<string> {
  const r = await execa("ssh", sshArgv(t, command), {
    reject: false,
    ...(input && "file" in input ? { inputFile: input.file } : {}),
    ...(input && "text" in input ? { input: input.text } : {}),
  });
  if (r.failed || r.exitCode !== 0) {
    const why = String(r.stderr || r.stdout || r.message || "")
      .trim()
      .split("\n")
      .slice(-5)
      .join("; ");
    throw new CliError(
      "failed",
      `ssh root@${t.address}: ${step} failed (exit ${r.exitCode ?? r.signal}): ${why}`,
    );
  }
  return r.stdout;
}
