// automagic reinstall HOST --via netboot|ssh|kexec (issue #16): start a run
// by netboot (arm, wake), over ssh on the live system (layout ab), or by
// kexec into the RAM image; --wait follows it to its end.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebStream } from "node:stream/web";
import { Option, type Command } from "commander";
import type { AdminClient } from "../../app/client.ts";
import { formatEvent } from "../../app/format.ts";
import { waitForRun, type WaitResult } from "../../app/wait-run.ts";
import { parseAction } from "../../policy/actions.ts";
import { REMOTE, VIAS, type Via } from "../../policy/reinstall.ts";
import type { RunFacts } from "../../policy/state-machine.ts";
import { CliError } from "../exit-codes.ts";
import {
  copyPayloadCommand,
  kexecCommand,
  ssh,
  startPayloadCommand,
  type KexecFiles,
  type SshTarget,
} from "../ssh.ts";
import { client, withServer } from "./control.ts";

interface Opts {
  via: Via;
  action: string;
  address?: string;
  identity?: string;
  acceptNew?: boolean;
  sshOption: string[];
  devices?: string;
  wait?: boolean;
  timeout: string;
  json?: boolean;
}

/** What POST .../reinstall answers (server/http/reinstall.ts). */
interface Started {
  host: string;
  via: Via;
  action: string;
  afterEvent: number;
  afterRun?: number;
  run?: number;
  token?: string;
  address?: string;
  cancelledRun?: number;
  woke?: string[];
  payload?: { sha256: string; bytes: number; argv: string[] };
  kexec?: KexecFiles;
}

const say = (s: string) => process.stderr.write(`${s}\n`);

export function registerReinstall(program: Command): void {
  withServer(program.command("reinstall"))
    .description(
      "start a run on HOST by netboot (arm + wake), over ssh on the running system (layout ab), or by kexec into the RAM image; --wait follows it to its end",
    )
    .argument("<host>")
    .addOption(
      new Option("--via <how>", "netboot | ssh | kexec").choices(VIAS).makeOptionMandatory(),
    )
    .option(
      "--action <action>",
      "install | deploy:<image> (kexec and netboot: any action)",
      "install",
    )
    .option(
      "--address <ip>",
      "the machine's address (ssh, kexec; default: where the server last saw it)",
    )
    .option("-i, --identity <key>", "ssh private key (default: the ssh agent and ssh config)")
    .option(
      "--accept-new",
      "accept a host key ssh has not seen before (StrictHostKeyChecking=accept-new)",
    )
    .option("--ssh-option <opt>", "an ssh -o option, KEY=VALUE (repeatable)", collect, [])
    .option("--devices <list>", "ssh: the block devices the payload may see (its --devices)")
    .option("--wait", "follow the run's events until it ends (exit 4 when it failed)")
    .option("--timeout <secs>", "with --wait: give up after this long (exit 8)", "7200")
    .option("--json", "one object: {host, run, via, outcome, reason?}")
    .action(async (host: string, o: Opts, cmd: Command) => {
      const action = parseAction(o.action);
      const timeout = Number(o.timeout);
      if (!Number.isFinite(timeout) || timeout <= 0)
        throw new CliError("usage", `--timeout ${o.timeout}: a number of seconds above 0`);
      if (o.via !== "ssh" && o.devices)
        throw new CliError("usage", "--devices is the payload's, for --via ssh only");
      const c = client(cmd);
      const s = await c.json<Started>(
        "POST",
        `/api/v1/admin/hosts/${encodeURIComponent(host)}/reinstall`,
        { via: o.via, action, ...(o.address ? { address: o.address } : {}) },
      );
      if (o.via !== "netboot") await startOnMachine(c, s, o);
      else if (!o.json)
        say(`${s.host}: armed ${s.action}${s.woke?.length ? `, woke ${s.woke.join(", ")}` : ""}`);
      if (!o.wait) {
        report(o, {
          host: s.host,
          via: s.via,
          outcome: o.via === "netboot" ? "armed" : "started",
          ...(s.run ? { run: s.run } : {}),
        });
        return;
      }
      const r = await waitForRun(c, {
        host: s.host,
        ...(s.run !== undefined ? { run: s.run } : {}),
        afterRun: s.afterRun ?? (s.run ?? 1) - 1,
        afterEvent: s.afterEvent,
        timeoutMs: timeout * 1000,
        onEvent: (e) => (o.json ? undefined : process.stdout.write(`${formatEvent(e)}\n`)),
        onDrop: (why, lastId) =>
          say(
            `events: stream lost (${why}); reconnecting${lastId ? ` after event ${lastId}` : ""}`,
          ),
      });
      finish(o, s, r);
    });
}

function collect(v: string, all: string[]): string[] {
  return [...all, v];
}

function report(o: Opts, doc: Record<string, unknown>): void {
  if (o.json) process.stdout.write(`${JSON.stringify(doc)}\n`);
  else
    say(
      `${doc.host}: ${doc.via} run${doc.run ? ` ${doc.run}` : ""} ${doc.outcome}${doc.reason ? `: ${doc.reason}` : ""}`,
    );
}

function finish(o: Opts, s: Started, r: WaitResult): void {
  report(o, {
    host: s.host,
    ...(r.run !== undefined ? { run: r.run } : {}),
    via: s.via,
    outcome: r.outcome,
    ...(r.reason ? { reason: r.reason } : {}),
  });
  const what = `${s.host}: run${r.run !== undefined ? ` ${r.run}` : ""}`;
  if (r.outcome === "failed") throw new CliError("refused", `${what} failed: ${r.reason}`);
  if (r.outcome === "timeout") throw new CliError("timeout", `${what}: ${r.reason}`);
}

/** ssh / kexec: the run exists on the server; start it on the machine, or cancel it. */
async function startOnMachine(c: AdminClient, s: Started, o: Opts): Promise<void> {
  const target: SshTarget = {
    address: s.address!,
    ...(o.identity ? { identity: o.identity } : {}),
    ...(o.acceptNew ? { acceptNew: true } : {}),
    options: o.sshOption,
  };
  try {
    if (s.payload) {
      await startPayload(c, s, target, o);
      await payloadSpoke(c, s, target);
    } else await ssh(target, "kexec", kexecCommand(s.kexec!));
  } catch (err) {
    // The run never started: end it now rather than let it wait out its boot window.
    await c
      .json("POST", `/api/v1/admin/hosts/${encodeURIComponent(s.host)}/next`, { action: "local" })
      .catch(() => {});
    throw err;
  }
  if (!o.json)
    say(
      `${s.host}: run ${s.run} ${s.payload ? "payload started over ssh" : "kexec into the RAM image"} at ${s.address}`,
    );
}

/**
 * The payload fetches its spec within seconds of starting; a run still
 * `booting` after PAYLOAD_START_MS means it never spoke (no route to the
 * server, a binary that does not run there): say what its log says.
 */
async function payloadSpoke(c: AdminClient, s: Started, target: SshTarget): Promise<void> {
  const until = Date.now() + PAYLOAD_START_MS;
  for (;;) {
    const { runs } = await c.json<{ runs: RunFacts[] }>(
      "GET",
      `/api/v1/admin/hosts/${encodeURIComponent(s.host)}`,
    );
    const run = runs.find((r) => r.id === s.run);
    if (run && run.status !== "booting") return;
    if (Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const log = await ssh(target, "reading its log", `tail -n 5 ${REMOTE.log}`).catch(() => "");
  throw new CliError(
    "failed",
    `${s.host}: the payload did not reach the server within ${PAYLOAD_START_MS / 1000} s; ${REMOTE.log} on ${s.address} ends: ${log.trim().split("\n").join(" | ") || "(nothing)"}`,
  );
}

const PAYLOAD_START_MS = 60_000;

async function startPayload(c: AdminClient, s: Started, target: SshTarget, o: Opts): Promise<void> {
  const p = s.payload!;
  const dir = await mkdtemp(join(tmpdir(), "automagic-reinstall-"));
  try {
    const file = join(dir, "automagic-install");
    const res = await c.request("GET", "/api/v1/admin/payload");
    const hash = createHash("sha256");
    const body = Readable.fromWeb(res.body as WebStream);
    body.on("data", (b: Buffer) => hash.update(b));
    await pipeline(body, createWriteStream(file, { mode: 0o600 }));
    const got = hash.digest("hex");
    if (got !== p.sha256)
      throw new CliError(
        "failed",
        `payload from the server: sha256 ${got}, the image manifest says ${p.sha256}; nothing was copied`,
      );
    const remote = (await ssh(target, "copying the payload", copyPayloadCommand(), { file }))
      .trim()
      .split(/\s+/)[0];
    if (remote !== p.sha256)
      throw new CliError(
        "failed",
        `payload on ${s.address}: sha256 ${remote}, expected ${p.sha256}`,
      );
    const argv = o.devices ? [...p.argv, "--devices", o.devices] : p.argv;
    await ssh(target, "starting the payload", startPayloadCommand(argv), { text: s.token! });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
