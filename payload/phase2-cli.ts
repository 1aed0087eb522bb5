// `automagic-install --phase 2`: the first-boot hook's entry. Reads the
// server and phase-2 token phase 1 stored, fetches the spec with that token
// and hands over to payload/phase2 (runPhase2), reporting with phase: 2.
import { readFile } from "node:fs/promises";
import { parseInstallSpec } from "./spec/schema.ts";
import { runPhase2 } from "./phase2/index.ts";
import { FIRSTBOOT_SERVER_FILE, FIRSTBOOT_TOKEN_FILE } from "./phase2/firstboot.ts";
import { Reporter } from "./run/reporter.ts";
import { execaRunner } from "./run/runner.ts";
import { INSTALLED_STATE } from "./steps/finish.ts";

export async function runPhase2Cli(o: {
  server?: string | undefined;
  token?: string | undefined;
  root?: string;
}): Promise<number> {
  const read = (f: string) => readFile(`${INSTALLED_STATE}/${f}`, "utf8").then((s) => s.trim());
  const server = o.server ?? (await read(FIRSTBOOT_SERVER_FILE));
  const token = o.token ?? (await read(FIRSTBOOT_TOKEN_FILE));
  const reporter = new Reporter({ phase: 2, server, token });
  reporter.emit({ kind: "run-start", message: "AUTOMAGIC-PAYLOAD-START phase 2" });
  try {
    const url = `${server.replace(/\/+$/, "")}/api/v1/run/${encodeURIComponent(token)}/spec`;
    const res = await fetch(url);
    if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
    const spec = parseInstallSpec(await res.json(), url);
    const summary = await runPhase2({
      spec,
      server,
      token,
      root: o.root ?? "/",
      runner: execaRunner(),
      report: reporter,
    });
    reporter.emit({ kind: "run-done", message: "phase 2 done", summary: { ...summary } });
    await reporter.flush();
    return 0;
  } catch (err) {
    reporter.emit({ kind: "step-fail", step: "phase2", message: (err as Error).message });
    await reporter.flush();
    return 1;
  }
}
