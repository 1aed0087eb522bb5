// Child process that runs the TFTP server where it is started (the tests
// start it with `ip netns exec`). Prints one JSON line `{"ready":port}`, then
// answers `stats` on stdin with a JSON line; `quit` closes the server.
// SETTINGS is a JSON object of further TftpConfig fields (harness.ts's FixtureConfig).
import { createInterface } from "node:readline";
import { startTftpServer } from "../../../server/tftp/index.ts";

const [root, address, port, settings] = process.argv.slice(2);
if (!root || !address) throw new Error("usage: serve-in-ns.ts ROOT ADDRESS [PORT] [SETTINGS]");
const server = await startTftpServer({
  ...(settings ? (JSON.parse(settings) as object) : {}),
  root,
  address,
  port: Number(port ?? 69),
});
process.stdout.write(`${JSON.stringify({ ready: server.port })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === "stats") process.stdout.write(`${JSON.stringify(server.stats())}\n`);
  if (line === "quit") break;
}
await server.close();
