// kill9: `automagic serve` (from a config file, state on the real disk) is
// killed with SIGKILL at 10 random moments of an install and started again
// each time, while a client plays the installing machine with the payload's
// own code: the Reporter (payload/run/reporter.ts) sends the event stream of
// an install (run-start, steps with progress and logs, phase-done), the
// phase-1 -> phase-2 token rotation goes through rotateToken's request, and
// phase 2 reports under its own token until run-done.
// Measured: kills, events sent and stored per phase (duplicates dropped by
// seq), the run's final status, the host's state, whether the phase-2 token
// is revoked at the end. Verdict ok: run done, every event stored once,
// host local, token revoked.
//   npx tsx test/chaos/kill9.chaos.ts   (or: bash test/chaos/run.sh kill9)
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { row } from "./row.ts";
import { Reporter } from "../../payload/run/reporter.ts";
import {
  allowBootFrom,
  cli,
  freePort,
  makeWorld,
  startServe,
  type Served,
} from "../integration/control/serve-process.ts";

const KILLS = Number(process.env.KILLS ?? 10);
const HOST = "qemu-bios";
const MAC = "52:54:00:a0:00:01";
const STEPS = [
  "probe",
  "verify-downloads",
  "pave",
  "stage3",
  "portage",
  "system-packages",
  "kernel",
  "bootloader",
  "users",
  "rotate-token",
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** fetch with the payload's patience: retried while serve is down. */
async function patient(url: string, init?: RequestInit): Promise<Response> {
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(url, init);
      if (r.status < 500) return r;
    } catch {
      // serve is down: retry
    }
    if (i > 60) throw new Error(`${init?.method ?? "GET"} ${url}: no answer for a minute`);
    await sleep(500);
  }
}

async function main(): Promise<void> {
  const world = makeWorld();
  allowBootFrom(world, HOST);
  const port = await freePort();
  const cfg = join(world.dir, "serve.yaml");
  writeFileSync(cfg, `listen: 127.0.0.1\nhttp: { port: ${port} }\ntftp: { enabled: false }\n`);
  let srv: Served = await startServe(world, ["--config", cfg]);
  const url = srv.url;
  try {
    const env = { AUTOMAGIC_SERVER: url };
    const armed = await cli(["next", HOST, "install"], env);
    if (armed.exitCode !== 0) throw new Error(`arming failed: ${armed.stderr}`);
    const script = await (await fetch(`${url}/boot.ipxe?mac=${MAC}`)).text();
    const token1 = /automagic\.token=(\S+)/.exec(script)?.[1];
    if (!token1) throw new Error(`no token in the boot script:\n${script}`);

    // The killer: KILLS times, at a random moment, kill -9 and start again.
    let installing = true;
    let kills = 0;
    const killer = (async () => {
      while (installing && kills < KILLS) {
        await sleep(500 + Math.random() * 2500);
        if (!installing) break;
        await srv.kill9();
        kills += 1;
        srv = await startServe(world, ["--config", cfg]);
      }
    })();

    const sent = { 1: 0, 2: 0 };
    const reporterFor = (phase: 1 | 2, token: string) =>
      new Reporter({
        server: url,
        token,
        phase,
        write: () => undefined,
        retryDelayMs: 500,
        maxAttempts: 12,
      });
    const spec = await patient(`${url}/api/v1/run/${token1}/spec`);
    if (spec.status !== 200) throw new Error(`spec: HTTP ${spec.status}`);
    const r1 = reporterFor(1, token1);
    const emit = (r: Reporter, phase: 1 | 2, e: Parameters<Reporter["emit"]>[0]) => {
      r.emit(e);
      sent[phase] += 1;
    };
    // The install's 12 steps spread over the kills: a step ends only once its
    // share of them has happened, so every kill lands inside the install.
    let stepsDone = 0;
    const stepEnd = async (r: Reporter, phase: 1 | 2, step: string) => {
      emit(r, phase, { kind: "step-end", step });
      stepsDone += 1;
      while (kills < Math.floor((stepsDone * KILLS) / 12)) await sleep(100);
    };
    emit(r1, 1, { kind: "run-start", message: "chaos" });
    for (const step of STEPS.slice(0, -1)) {
      emit(r1, 1, { kind: "step-start", step });
      for (let i = 1; i <= 20; i++) {
        emit(r1, 1, {
          kind: i % 2 ? "log" : "progress",
          step,
          message: `line ${i}`,
          ...(i % 2 ? {} : { progress: { done: i, total: 20 } }),
        });
        await sleep(40);
      }
      await stepEnd(r1, 1, step);
    }
    // rotate-token: as payload/steps/finish.ts does it.
    await r1.flush();
    const rot = await patient(`${url}/api/v1/run/${token1}/phase2`, { method: "POST" });
    if (rot.status !== 200)
      throw new Error(`phase2 rotation: HTTP ${rot.status} ${await rot.text()}`);
    const token2 = ((await rot.json()) as { token: string }).token;
    r1.useToken(token2);
    emit(r1, 1, { kind: "phase-done", message: "reboot" });
    await r1.flush();
    const r2 = reporterFor(2, token2);
    emit(r2, 2, { kind: "run-start", message: "phase 2" });
    for (const step of ["portage-files", "world", "services"]) {
      emit(r2, 2, { kind: "step-start", step });
      for (let i = 1; i <= 20; i++) {
        emit(r2, 2, { kind: "log", step, message: `emerge line ${i}` });
        await sleep(40);
      }
      await stepEnd(r2, 2, step);
    }
    emit(r2, 2, { kind: "run-done" });
    await r2.flush();
    installing = false;
    await killer;

    const st = JSON.parse(String((await cli(["status", HOST, "--json"], env)).stdout)) as {
      state: string;
      run?: { status: string };
    };
    const after = await fetch(`${srv.url}/api/v1/run/${token2}/spec`);
    const db = new Database(join(world.stateDir, "automagic.sqlite"), { readonly: true });
    const stored = (phase: number) =>
      (db.prepare("SELECT COUNT(*) AS n FROM events WHERE phase = ?").get(phase) as { n: number })
        .n;
    const got = { 1: stored(1), 2: stored(2) };
    db.close();
    row(
      "kill9",
      `${kills} kill -9 of serve at random moments of an install (payload Reporter, token rotation, phase 2), each followed by a restart`,
      `events stored/sent: phase 1 ${got[1]}/${sent[1]}, phase 2 ${got[2]}/${sent[2]}; run ${st.run?.status}; ` +
        `host ${st.state}; phase-2 token afterwards: HTTP ${after.status}`,
      kills === KILLS &&
        got[1] === sent[1] &&
        got[2] === sent[2] &&
        st.run?.status === "done" &&
        st.state === "local" &&
        after.status === 401,
    );
  } finally {
    await srv.stop();
    world.close();
  }
}

await main();
