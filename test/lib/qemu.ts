// QEMU test machines. KVM on this kind of machine is paravirtual (kvm_pvm, no
// vmx/svm): SeaBIOS runs but a Debian kernel dies with an emulation failure
// (shared/reference/qemu-netboot-facts.md). So the probe asks the CPU flags
// and falls back to TCG, and every caller prints which accelerator ran.
import { readFileSync, existsSync, copyFileSync, createWriteStream } from "node:fs";
import { join } from "node:path";
import { execa, type ResultPromise } from "execa";
import { requireTool } from "./tools.ts";

export interface Accel {
  name: "kvm" | "tcg";
  args: string[];
  why: string;
}

/** KVM only with hardware virtualisation flags and a /dev/kvm; else TCG. */
export function probeAccel(cpuinfo = safeRead("/proc/cpuinfo")): Accel {
  const hw = /\b(vmx|svm)\b/.test(cpuinfo);
  if (hw && existsSync("/dev/kvm") && process.env.AUTOMAGIC_NO_KVM !== "1") {
    return {
      name: "kvm",
      args: ["-enable-kvm", "-cpu", "host"],
      why: "vmx/svm present and /dev/kvm",
    };
  }
  return {
    name: "tcg",
    // -smp 1: about 1 boot in 14 panicked in sched_clock_cpu with -smp 2 under TCG here.
    args: ["-accel", "tcg,thread=multi", "-cpu", "max"],
    why: hw
      ? "AUTOMAGIC_NO_KVM=1"
      : "no vmx/svm in /proc/cpuinfo (kvm here is kvm_pvm and cannot run a Debian kernel)",
  };
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
}

export const OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd";
export const OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd";

export interface Disk {
  file: string;
  serial: string;
  format?: "raw" | "qcow2";
}

export interface VmSpec {
  name: string;
  firmware: "bios" | "uefi";
  mac: string;
  memMiB?: number;
  disks: Disk[];
  /** tap device (inside the namespace QEMU runs in); absent: no NIC. */
  tap?: string;
  /** Empty string disables the NIC option ROM (OVMF's own PXE); undefined keeps QEMU's iPXE ROM. */
  nicRom?: string;
  /** Netboot first (bootindex=1 on the NIC), disks after. */
  netbootFirst?: boolean;
  kernel?: { kernel: string; initrd: string; append: string };
  extraArgs?: string[];
  /** UEFI NVRAM file; one per machine, so boot entries survive "power cycles" (new QEMU processes). */
  nvram?: string;
  /** Default true: the guest's reboot ends the QEMU process. */
  noReboot?: boolean;
  workDir: string;
}

function nvramFile(vm: VmSpec): string {
  return vm.nvram ?? join(vm.workDir, `${vm.name}-OVMF_VARS.fd`);
}

/** Pure: the argv for one VM. */
export function qemuArgs(vm: VmSpec, accel: Accel): string[] {
  const args = ["-name", vm.name, "-m", String(vm.memMiB ?? 1024), "-smp", "1", ...accel.args];
  args.push("-nographic", "-serial", "mon:stdio");
  // A reboot inside the guest ends QEMU, so the test "powers on" again itself.
  if (vm.noReboot !== false) args.push("-no-reboot");
  if (vm.firmware === "uefi") {
    const vars = nvramFile(vm);
    args.push("-machine", "q35");
    args.push("-drive", `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`);
    args.push("-drive", `if=pflash,format=raw,file=${vars}`);
  } else {
    args.push("-machine", "pc");
  }
  vm.disks.forEach((d, i) => {
    args.push("-drive", `if=none,id=d${i},format=${d.format ?? "raw"},file=${d.file},cache=unsafe`);
    const boot = vm.netbootFirst ? i + 2 : i + 1;
    args.push("-device", `virtio-blk-pci,drive=d${i},serial=${d.serial},bootindex=${boot}`);
  });
  if (vm.tap) {
    args.push("-netdev", `tap,id=n0,ifname=${vm.tap},script=no,downscript=no`);
    const rom = vm.nicRom === undefined ? "" : `,romfile=${vm.nicRom}`;
    const boot = vm.netbootFirst ? ",bootindex=1" : "";
    args.push("-device", `virtio-net-pci,netdev=n0,mac=${vm.mac}${rom}${boot}`);
  } else {
    args.push("-nic", "none");
  }
  if (vm.kernel) {
    args.push(
      "-kernel",
      vm.kernel.kernel,
      "-initrd",
      vm.kernel.initrd,
      "-append",
      vm.kernel.append,
    );
  }
  args.push(...(vm.extraArgs ?? []));
  return args;
}

export interface RunningVm {
  spec: VmSpec;
  consoleLog: string;
  process: ResultPromise;
  /** Resolves with the console text once `pattern` appears; rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string>;
  console(): string;
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/** Starts a VM, optionally inside a network namespace, logging its serial console to a file. */
export function startVm(vm: VmSpec, accel: Accel, opts: { netns?: string } = {}): RunningVm {
  requireTool("qemu-system-x86_64");
  if (vm.firmware === "uefi") {
    const vars = nvramFile(vm);
    if (!existsSync(vars)) copyFileSync(OVMF_VARS, vars);
  }
  const argv = ["qemu-system-x86_64", ...qemuArgs(vm, accel)];
  const cmd = opts.netns ? ["ip", "netns", "exec", opts.netns, ...argv] : argv;
  const consoleLog = join(vm.workDir, `${vm.name}.console.log`);
  const out = createWriteStream(consoleLog, { flags: "a" });
  const proc = execa(cmd[0]!, cmd.slice(1), {
    reject: false,
    stdin: "pipe",
    all: true,
    buffer: false,
  });
  let text = "";
  const waiters: Array<() => void> = [];
  proc.all?.on("data", (chunk: Buffer) => {
    out.write(chunk);
    text += chunk.toString("latin1");
    for (const w of waiters.splice(0)) w();
  });
  const exited = proc.then((r) => {
    out.end();
    for (const w of waiters.splice(0)) w();
    return r.exitCode ?? null;
  });
  let done = false;
  void exited.then(() => (done = true)); // proc has reject: false: never rejects
  return {
    spec: vm,
    consoleLog,
    process: proc,
    exited,
    console: () => text,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => {
          reject(
            new Error(
              `${vm.name}: ${pattern} not seen on the console within ${timeoutMs} ms (log: ${consoleLog})`,
            ),
          );
        }, timeoutMs);
        const check = () => {
          if (pattern.test(text)) {
            clearTimeout(deadline);
            resolve(text);
          } else if (done) {
            clearTimeout(deadline);
            reject(
              new Error(`${vm.name}: QEMU exited before ${pattern} appeared (log: ${consoleLog})`),
            );
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
    async kill() {
      if (!done) proc.kill("SIGKILL");
      await exited;
    },
  };
}

/** Disk image of `bytes`, sparse. */
export async function makeRawDisk(file: string, bytes: number): Promise<void> {
  await execa("truncate", ["-s", String(bytes), file]);
}
