// SO_BINDTODEVICE for a node:dgram socket. Node has no API for it, and a
// DHCP server bound to 0.0.0.0:67 without it would answer broadcasts from
// every interface of the machine (the worst failure a PXE server can have).
// A short python3 helper borrows our socket with pidfd_getfd(2) (Linux 5.6+,
// needs CAP_SYS_PTRACE, which root has), sets the option on the shared socket
// and exits; the option then applies to our descriptor too, since both name
// the same kernel socket. Sockets already bound to a device are left alone,
// so each call binds exactly the socket(s) opened since.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { execa } from "execa";

const HELPER = String.raw`
import ctypes, socket, sys
pid, ifname, fds = int(sys.argv[1]), sys.argv[2].encode(), [int(x) for x in sys.argv[3:]]
libc = ctypes.CDLL(None, use_errno=True)
pidfd = libc.syscall(434, pid, 0)  # pidfd_open
if pidfd < 0:
    sys.exit("pidfd_open: errno %d" % ctypes.get_errno())
bound = 0
for fd in fds:
    local = libc.syscall(438, pidfd, fd, 0)  # pidfd_getfd
    if local < 0:
        sys.exit("pidfd_getfd(%d): errno %d" % (fd, ctypes.get_errno()))
    s = socket.socket(fileno=local)
    if not s.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16).strip(b"\0"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname)
        bound += 1
    s.close()
print(bound)
`;

/** /proc/net/udp spelling of ADDR:PORT (address in host byte order, little-endian here). */
function procAddr(address: string, port: number): string {
  const ip = Buffer.from(address.split(".").map(Number)).readUInt32LE(0);
  const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, "0");
  return `${hex(ip, 8)}:${hex(port, 4)}`;
}

/** Descriptors of this process's UDP sockets bound to `address`:`port`. */
export function udpSocketFds(port: number, address = "0.0.0.0"): number[] {
  const inodes = new Set<string>();
  const local = procAddr(address, port);
  for (const line of readFileSync("/proc/self/net/udp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[9]) inodes.add(f[9]);
  }
  const fds: number[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    let target = "";
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m && inodes.has(m[1]!)) fds.push(Number(fd));
  }
  return fds;
}

/** Binds the not-yet-bound socket(s) on `port` to `ifname`; throws naming both if it cannot. */
export async function bindToDevice(
  port: number,
  ifname: string,
  address = "0.0.0.0",
): Promise<void> {
  const fds = udpSocketFds(port, address);
  if (fds.length === 0) throw new Error(`dhcp: no UDP socket on port ${port} to bind to ${ifname}`);
  const r = await execa(
    "python3",
    ["-c", HELPER, String(process.pid), ifname, ...fds.map(String)],
    {
      reject: false,
    },
  );
  if (r.exitCode !== 0 || r.stdout.trim() === "0") {
    throw new Error(
      `dhcp: cannot bind UDP port ${port} to interface ${ifname} (SO_BINDTODEVICE via python3): ` +
        `exit ${r.exitCode}: ${r.stderr || r.stdout || "no unbound socket"}`,
    );
  }
}
