// A netbooted machine played over HTTP, as the RAM system's payload talks to
// the server: the boot script (with the run's token) for its MAC, the spec
// with that token, then event batches; `phase2()` switches to the installed
// system's token as phase 1's reboot would. The server must let the test's
// address fetch the script for this MAC (a lease, its neighbour table, or
// the host file's netboot.allowFrom).
import assert from "node:assert/strict";

type Event = Record<string, unknown> & { kind: string };

export class FakeMachine {
  private seq = 0;
  private phase = 1;
  token = "";
  constructor(
    private readonly server: { url: string },
    private readonly mac: string,
  ) {}

  async boot(): Promise<void> {
    const url = `${this.server.url}/boot.ipxe?mac=${this.mac}&arch=x86_64`;
    const script = await (await fetch(url)).text();
    const token = /automagic\.token=(\S+)/.exec(script)?.[1];
    assert.ok(token, `no token in the boot script for ${this.mac}:\n${script}`);
    this.token = token;
    const spec = await fetch(`${this.server.url}/api/v1/run/${this.token}/spec`);
    assert.equal(spec.status, 200);
  }

  async send(...events: Event[]): Promise<void> {
    const batch = events.map((e) => ({
      seq: ++this.seq,
      time: new Date().toISOString(),
      phase: this.phase,
      ...e,
    }));
    const r = await fetch(`${this.server.url}/api/v1/run/${this.token}/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ events: batch }),
    });
    assert.equal(r.status, 200, await r.text());
  }

  /** Phase 1 is done and the machine rebooted into its new system. */
  async phase2(): Promise<void> {
    const r = await fetch(`${this.server.url}/api/v1/run/${this.token}/phase2`, {
      method: "POST",
    });
    const body = await r.text();
    assert.equal(r.status, 200, body);
    this.token = (JSON.parse(body) as { token: string }).token;
    this.phase = 2;
    this.seq = 0;
  }
}
