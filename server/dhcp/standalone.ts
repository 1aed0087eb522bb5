// Runs the DHCP server alone from a JSON config file, for tests and the e2e
// harness that must start it inside a network namespace:
//   ip netns exec NS node --import tsx server/dhcp/standalone.ts cfg.json
// Prints "ready" on stdout once serving (or the start-up error on stderr,
// exit 1). A line "stats" on stdin prints {stats, leases} as one JSON line.
// SIGTERM/SIGINT or stdin EOF closes cleanly. Trace events go to stderr as
// JSON lines, so a test can see every decision.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { startDhcpServer } from "./server.ts";

const path = process.argv[2];
if (!path) {
  process.stderr.write("usage: standalone.ts CONFIG.json\n");
  process.exit(2);
}
// reservations and quietTrace are this runner's; the rest is the DhcpConfig.
const {
  reservations: res,
  quietTrace: quiet,
  ...raw
} = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
const reservations = (res ?? {}) as Record<string, string>;
const quietTrace = quiet === true;

try {
  const srv = await startDhcpServer(raw as never, {
    reservationFor: (mac) => reservations[mac],
    onTrace: quietTrace ? undefined : (ev) => process.stderr.write(`${JSON.stringify(ev)}\n`),
    log: {
      debug: () => {},
      info: (o, m) => process.stderr.write(`info ${m ?? ""} ${JSON.stringify(o)}\n`),
      warn: (o, m) => process.stderr.write(`warn ${m ?? ""} ${JSON.stringify(o)}\n`),
      error: (o, m) =>
        process.stderr.write(
          `error ${m ?? ""} ${String((o as { err?: unknown }).err ?? JSON.stringify(o))}\n`,
        ),
    },
  });
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    srv.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`close: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    if (line.trim() === "stats") {
      process.stdout.write(`${JSON.stringify({ stats: srv.stats(), leases: srv.leases() })}\n`);
    }
  });
  rl.on("close", stop);
  process.stdout.write("ready\n");
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
