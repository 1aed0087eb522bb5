// Child process that runs the TFTP server where it is started (the tests
// start it with `ip netns exec`). Prints one JSON line `{"ready":port}`, then
// answers `stats` on stdin with a JSON line; `quit` closes the server.
import { createInterface } from "node:readline";
import { startTftpServer } from "../../../server/tftp/index.ts";

const [root, address, port, maxBlksize] = process.argv.slice(2);
if (!root || !address) throw new Error("usage: serve-in-ns.ts ROOT ADDRESS [PORT] [MAXBLKSIZE]");
const server = await startTftpServer({
  root,
  address,
  port: Number(port ?? 69),
  ...(maxBlksize ? { maxBlksize: Number(maxBlksize) } : {}),
});
process.stdout.write(`${JSON.stringify({ ready: server.port })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "stats") process.stdout.write(`${JSON.stringify(server.stats())}\n`);
  if (line === "quit") break;
}
await server.close();
