// Run inside a namespace: sends DHCP packets (hex, one per --hex) from
// --bind ADDR:PORT to --to ADDR:PORT, collects every datagram that arrives
// for --wait ms, prints them as one JSON line [{from, port, hex}].
//   ip netns exec NS node --import tsx send-recv.ts --bind 0.0.0.0:68 --to 255.255.255.255:67 --hex ... --wait 1500
import { createSocket } from "node:dgram";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    bind: { type: "string", default: "0.0.0.0:68" },
    to: { type: "string", default: "255.255.255.255:67" },
    hex: { type: "string", multiple: true, default: [] },
    wait: { type: "string", default: "1500" },
  },
});
const [bindAddr, bindPort] = values.bind.split(":");
const [toAddr, toPort] = values.to.split(":");
const sock = createSocket({ type: "udp4", reuseAddr: true });
const got: Array<{ from: string; port: number; hex: string }> = [];
sock.on("message", (m, r) => got.push({ from: r.address, port: r.port, hex: m.toString("hex") }));
sock.bind(Number(bindPort), bindAddr, () => {
  sock.setBroadcast(true);
  for (const h of values.hex) sock.send(Buffer.from(h, "hex"), Number(toPort), toAddr);
  setTimeout(() => {
    process.stdout.write(`${JSON.stringify(got)}\n`);
    sock.close();
  }, Number(values.wait));
});
