// The durable store for the next-boot state machine: armed actions, runs,
// tokens and run events. Decisions come from server/policy; this file only
// persists them, each change in one fsync'd transaction.
import { EventEmitter } from "node:events";
import type { RunEvent } from "../../payload/spec/events.ts";
import type { Action } from "../policy/actions.ts";
import type { Decision } from "../policy/decide.ts";
import type { HostFacts, RunFacts, RunPhase, RunStatus } from "../policy/state-machine.ts";
import { describeFailure, toRun, type RunRow } from "./rows.ts";
import { isActive } from "../policy/state-machine.ts";
import { expiryOf, type Expiry, type ExpiryWindows } from "../policy/expiry.ts";
import { openDb, type Db } from "./db.ts";
import { hashToken, looksLikeToken, mintToken } from "./tokens.ts";
import { Observations } from "./observations.ts";

export interface StoreOptions {
  now?: () => number;
  /** Token lifetime; each accepted event batch extends it (long emerges). */
  tokenTtlMs?: number;
  /** How long an armed action waits for a boot, and a served boot script for its payload. */
  windows?: Partial<ExpiryWindows>;
  /** Events kept per run; past it only terminal events (step-fail, phase-done, run-done) are stored. */
  eventsPerRun?: number;
}

/** The events that end a step, a phase or a run: always stored, whatever the quota. */
const TERMINAL = new Set(["step-fail", "phase-done", "run-done"]);

export const DEFAULT_WINDOWS: ExpiryWindows = {
  armForMs: 24 * 3600_000,
  bootWindowMs: 30 * 60_000,
};

export type TokenCheck =
  | { ok: true; run: RunFacts; phase: RunPhase; hash: string; ip?: string }
  | { ok: false; reason: "unknown" | "expired" | "revoked" };

export interface StoredEvent {
  id: number;
  runId: number;
  host: string;
  receivedAt: number;
  event: RunEvent;
}

export class StateStore {
  readonly db: Db;
  readonly obs: Observations;
  /** "events" (host, runId) after a batch is committed; "change" (host) on any state change. */
  readonly emitter = new EventEmitter();
  private readonly now: () => number;
  private readonly ttl: number;
  private readonly windows: ExpiryWindows;
  private readonly eventsPerRun: number;

  constructor(stateDir: string, opts: StoreOptions = {}) {
    this.db = openDb(stateDir);
    this.now = opts.now ?? Date.now;
    this.ttl = opts.tokenTtlMs ?? 6 * 3600_000;
    this.windows = { ...DEFAULT_WINDOWS, ...opts.windows };
    this.eventsPerRun = opts.eventsPerRun ?? 20_000;
    this.obs = new Observations(this.db, this.now);
    this.emitter.setMaxListeners(0);
  }

  close(): void {
    this.obs.close();
    this.db.close();
  }

  latestRun(host: string): RunFacts | undefined {
    const r = this.db
      .prepare("SELECT * FROM runs WHERE host = ? ORDER BY id DESC LIMIT 1")
      .get(host) as RunRow | undefined;
    return r ? toRun(r) : undefined;
  }

  run(id: number): RunFacts | undefined {
    const r = this.db.prepare("SELECT * FROM runs WHERE id = ?").get(id) as RunRow | undefined;
    return r ? toRun(r) : undefined;
  }

  runs(host: string, limit = 20): RunFacts[] {
    const rows = this.db
      .prepare("SELECT * FROM runs WHERE host = ? ORDER BY id DESC LIMIT ?")
      .all(host, limit) as RunRow[];
    return rows.map(toRun);
  }

  hostFacts(host: string): HostFacts {
    const a = this.db
      .prepare("SELECT armed, armed_at, note FROM host_actions WHERE host = ?")
      .get(host) as { armed: string; armed_at: number | null; note: string | null } | undefined;
    const facts: HostFacts = { armed: (a?.armed ?? "local") as Action };
    if (a?.armed_at) facts.armedAt = a.armed_at;
    if (a?.note) facts.note = a.note;
    const run = this.latestRun(host);
    if (run) facts.run = run;
    return facts;
  }

  /**
   * Arms `action` for `host` (or disarms with "local"). A person's new order
   * wins: an active run is cancelled and its tokens revoked.
   */
  arm(host: string, action: Action): { cancelledRun?: number } {
    const now = this.now();
    const out: { cancelledRun?: number } = {};
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO host_actions (host, armed, armed_at, updated_at, note) VALUES (?, ?, ?, ?, NULL)
           ON CONFLICT(host) DO UPDATE SET armed = excluded.armed, armed_at = excluded.armed_at,
           updated_at = excluded.updated_at, note = NULL`,
        )
        .run(host, action, action === "local" ? null : now, now);
      const run = this.latestRun(host);
      if (run && isActive(run)) {
        this.endRun(run.id, "cancelled", `cancelled: host re-armed to ${action}`, now);
        out.cancelledRun = run.id;
      }
    })();
    this.emitter.emit("change", host);
    return out;
  }

  /**
   * A run started without netboot (`reinstall --via ssh|kexec`): it begins at
   * once, its phase-1 token pinned to the machine's address so nothing else
   * may use it. A person's new order wins, as in arm(): an armed action is
   * dropped, an active run cancelled.
   */
  beginRemote(
    host: string,
    action: Action,
    mac: string,
    ip: string,
    why: string,
  ): { runId: number; token: string; cancelledRun?: number } {
    const now = this.now();
    const out = this.db.transaction(() => {
      const active = this.latestRun(host);
      const cancelledRun = active && isActive(active) ? active.id : undefined;
      if (cancelledRun !== undefined)
        this.endRun(cancelledRun, "cancelled", `cancelled: ${why}`, now);
      this.db
        .prepare(
          `INSERT INTO host_actions (host, armed, armed_at, updated_at, note) VALUES (?, 'local', NULL, ?, NULL)
           ON CONFLICT(host) DO UPDATE SET armed = 'local', armed_at = NULL, updated_at = excluded.updated_at, note = NULL`,
        )
        .run(host, now);
      const runId = Number(
        this.db
          .prepare(
            "INSERT INTO runs (host, action, status, phase, mac, started_at, boot_ip) VALUES (?, ?, 'booting', 1, ?, ?, ?)",
          )
          .run(host, action, mac, now, ip).lastInsertRowid,
      );
      const token = this.insertToken(runId, 1, now);
      this.pinToken(hashToken(token), ip);
      return { runId, token, ...(cancelledRun !== undefined ? { cancelledRun } : {}) };
    })();
    this.emitter.emit("change", host);
    return out;
  }

  /** The newest event id of a host's runs (0: none): where a follower starts. */
  lastEventId(host: string): number {
    const r = this.db
      .prepare(
        "SELECT MAX(e.id) AS id FROM events e JOIN runs r ON r.id = e.run_id WHERE r.host = ?",
      )
      .get(host) as { id: number | null };
    return r.id ?? 0;
  }

  /**
   * Applies the host's expiry, if one is due (server/policy/expiry.ts): an
   * armed action goes back to local with a note, a run still booting ends as
   * expired and its tokens die. Runs inside the caller's transaction if any.
   */
  expire(host: string): Expiry | undefined {
    const now = this.now();
    const e = expiryOf(this.hostFacts(host), now, this.windows);
    if (!e) return undefined;
    this.db.transaction(() => {
      if (e.kind === "disarm") {
        this.db
          .prepare(
            "UPDATE host_actions SET armed = 'local', armed_at = NULL, updated_at = ?, note = ? WHERE host = ?",
          )
          .run(now, e.reason, host);
      } else {
        this.endRun(e.runId, e.status, e.reason, now);
      }
    })();
    this.emitter.emit("change", host);
    return e;
  }

  /**
   * Decides and acts in one transaction, so two boot requests racing for the
   * same armed action cannot both consume it. `decide` is the pure policy;
   * `canBoot` false (no image to serve) leaves the state untouched. An
   * expired arm or boot window is applied first: it never boots.
   */
  decideAndBegin(
    host: string,
    mac: string,
    decide: (facts: HostFacts) => Decision,
    canBoot: boolean,
    bootIp?: string,
  ): { decision: Decision; runId?: number; token?: string } {
    const now = this.now();
    const result = this.db.transaction(() => {
      this.expire(host);
      const decision = decide(this.hostFacts(host));
      if (decision.kind !== "boot" || !canBoot) return { decision };
      let runId = decision.reuseRun;
      if (runId === undefined) {
        runId = Number(
          this.db
            .prepare(
              "INSERT INTO runs (host, action, status, phase, mac, started_at, boot_ip) VALUES (?, ?, 'booting', 1, ?, ?, ?)",
            )
            .run(host, decision.action, mac, now, bootIp ?? null).lastInsertRowid,
        );
        this.db
          .prepare(
            "UPDATE host_actions SET armed = 'local', armed_at = NULL, updated_at = ? WHERE host = ?",
          )
          .run(now, host);
      } else {
        this.revokeTokens(runId, now);
        this.db.prepare("UPDATE runs SET boot_ip = ? WHERE id = ?").run(bootIp ?? null, runId);
      }
      // A capture after the install boots with a phase-3 token; booting again
      // until its payload speaks (a power cut mid-capture serves it anew).
      const capture = this.run(runId)?.phase === 3;
      if (capture)
        this.db
          .prepare("UPDATE runs SET status = 'booting', last_event_at = ? WHERE id = ?")
          .run(now, runId);
      const token = this.insertToken(runId, capture ? 3 : 1, now);
      return { decision, runId, token };
    })();
    if (result.decision.kind === "boot" && canBoot) this.emitter.emit("change", host);
    return result;
  }

  checkToken(token: string): TokenCheck {
    if (!looksLikeToken(token)) return { ok: false, reason: "unknown" };
    const t = this.db
      .prepare("SELECT run_id, phase, expires_at, revoked_at, ip FROM tokens WHERE hash = ?")
      .get(hashToken(token)) as
      | {
          run_id: number;
          phase: number;
          expires_at: number;
          revoked_at: number | null;
          ip: string | null;
        }
      | undefined;
    if (!t) return { ok: false, reason: "unknown" };
    if (t.revoked_at !== null) return { ok: false, reason: "revoked" };
    if (t.expires_at <= this.now()) return { ok: false, reason: "expired" };
    const run = this.run(t.run_id);
    if (!run) return { ok: false, reason: "unknown" };
    const phase: RunPhase = t.phase === 3 ? 3 : t.phase === 2 ? 2 : 1;
    const out: TokenCheck = { ok: true, run, phase, hash: hashToken(token) };
    if (t.ip) out.ip = t.ip;
    return out;
  }

  /** A token's first spec fetch binds it to the address it came from; later uses must match. */
  pinToken(hash: string, ip: string): void {
    this.db.prepare("UPDATE tokens SET ip = ? WHERE hash = ? AND ip IS NULL").run(ip, hash);
  }

  /** The payload fetched its spec (from `ip`): the run has started, a second netboot now boots local. */
  markStarted(runId: number, ip?: string): void {
    const now = this.now();
    if (ip) this.db.prepare("UPDATE runs SET spec_ip = ? WHERE id = ?").run(ip, runId);
    const changed = this.db
      .prepare(
        "UPDATE runs SET status = 'running', last_event_at = COALESCE(last_event_at, ?) WHERE id = ? AND status = 'booting'",
      )
      .run(now, runId).changes;
    const run = this.run(runId);
    if (changed && run) this.emitter.emit("change", run.host);
  }

  /**
   * A rotation retried because its answer was lost (serve killed between the
   * commit and the response): the phase-1 token, revoked by that rotation,
   * from the address it is pinned to, while no phase-2 token has fetched the spec,
   * gets a fresh phase-2 token (the unused one dies). Anything else: undefined.
   */
  retryPhase2(token: string, ip: string | undefined): string | undefined {
    if (!looksLikeToken(token) || !ip) return undefined;
    const t = this.db
      .prepare("SELECT run_id, phase, revoked_at, ip FROM tokens WHERE hash = ?")
      .get(hashToken(token)) as
      { run_id: number; phase: number; revoked_at: number | null; ip: string | null } | undefined;
    if (!t || t.phase !== 1 || t.revoked_at === null || t.ip !== ip) return undefined;
    const run = this.run(t.run_id);
    if (!run || run.phase !== 2 || !isActive(run)) return undefined;
    const used = this.db
      .prepare("SELECT COUNT(*) AS n FROM tokens WHERE run_id = ? AND phase = 2 AND ip IS NOT NULL")
      .get(run.id) as { n: number };
    if (used.n > 0) return undefined;
    const now = this.now();
    return this.db.transaction(() => {
      this.revokeTokens(run.id, now);
      return this.insertToken(run.id, 2, now);
    })();
  }

  /**
   * Phase 2 said the capture follows (postInstall.capture): the run waits in
   * phase 3 for the installed system's reboot into netboot; its tokens die
   * (the capture gets its own with the boot script). False when the run was
   * not in phase 2 or no longer active.
   */
  beginCapture(runId: number): boolean {
    const now = this.now();
    const changed = this.db.transaction(() => {
      const n = this.db
        .prepare(
          "UPDATE runs SET phase = 3, status = 'booting', current_step = NULL, progress = NULL, last_event_at = ? WHERE id = ? AND phase = 2 AND status = 'running'",
        )
        .run(now, runId).changes;
      if (n) this.revokeTokens(runId, now);
      return n > 0;
    })();
    const run = this.run(runId);
    if (changed && run) this.emitter.emit("change", run.host);
    return changed;
  }

  /** The image name run `runId` captures to: named on first ask, the same ever after. */
  runImage(runId: number, name: () => string): string {
    return this.db.transaction(() => {
      const have = this.run(runId)?.image;
      if (have) return have;
      const n = name();
      this.db.prepare("UPDATE runs SET image = ? WHERE id = ?").run(n, runId);
      return n;
    })();
  }

  /** Images named by active deploy runs: retention never removes these. */
  deployingImages(): Set<string> {
    const rows = this.db
      .prepare(
        "SELECT action FROM runs WHERE status IN ('booting', 'running') AND action LIKE 'deploy:%'",
      )
      .all() as Array<{ action: string }>;
    return new Set(rows.map((r) => r.action.slice("deploy:".length)));
  }

  /** What a machine's RAM system last reported of the images on its own /home. */
  setHomeSysimgs(host: string, images: unknown[]): void {
    this.db
      .prepare(
        "INSERT INTO home_sysimgs (host, reported_at, images) VALUES (?, ?, ?) ON CONFLICT(host) DO UPDATE SET reported_at = excluded.reported_at, images = excluded.images",
      )
      .run(host, this.now(), JSON.stringify(images));
  }

  homeSysimgs(host: string): { reportedAt: number; images: unknown[] } | undefined {
    const r = this.db
      .prepare("SELECT reported_at, images FROM home_sysimgs WHERE host = ?")
      .get(host) as { reported_at: number; images: string } | undefined;
    return r ? { reportedAt: r.reported_at, images: JSON.parse(r.images) as unknown[] } : undefined;
  }

  /** The MAC a run's boot script was served to. */
  runMac(runId: number): string | undefined {
    const r = this.db.prepare("SELECT mac FROM runs WHERE id = ?").get(runId) as
      { mac: string | null } | undefined;
    return r?.mac ?? undefined;
  }

  /** A discover run's inventory, filed under a host name or (no host file) a MAC. */
  setInventory(key: string, runId: number, inventory: unknown): void {
    this.db
      .prepare(
        "INSERT INTO inventories (key, run_id, reported_at, inventory) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET run_id = excluded.run_id, reported_at = excluded.reported_at, inventory = excluded.inventory",
      )
      .run(key, runId, this.now(), JSON.stringify(inventory));
    this.emitter.emit("change", key);
  }

  /** The newest inventory filed under any of `keys` (a host's name and its MACs). */
  inventory(
    keys: string[],
  ): { key: string; runId?: number; reportedAt: number; inventory: unknown } | undefined {
    if (keys.length === 0) return undefined;
    const r = this.db
      .prepare(
        `SELECT key, run_id, reported_at, inventory FROM inventories WHERE key IN (${keys.map(() => "?").join(", ")}) ORDER BY reported_at DESC, rowid DESC LIMIT 1`,
      )
      .get(...keys) as
      { key: string; run_id: number | null; reported_at: number; inventory: string } | undefined;
    if (!r) return undefined;
    return {
      key: r.key,
      ...(r.run_id !== null ? { runId: r.run_id } : {}),
      reportedAt: r.reported_at,
      inventory: JSON.parse(r.inventory) as unknown,
    };
  }

  /** Phase 1 hands over to phase 2: the phase-1 token dies, a phase-2 token is born. */
  beginPhase2(runId: number): string {
    const now = this.now();
    const token = this.db.transaction(() => {
      this.revokeTokens(runId, now);
      this.db.prepare("UPDATE runs SET phase = 2, last_event_at = ? WHERE id = ?").run(now, runId);
      return this.insertToken(runId, 2, now);
    })();
    const run = this.run(runId);
    if (run) this.emitter.emit("change", run.host);
    return token;
  }

  /**
   * Stores a batch (duplicates by run/phase/seq are dropped, so a payload may
   * resend after a lost response) and moves the run along: step-fail fails it,
   * run-done ends it and revokes its tokens. Past the run's event quota,
   * progress and step-start events are dropped (counted), terminal ones kept.
   */
  appendEvents(
    runId: number,
    phase: RunPhase,
    events: RunEvent[],
  ): { accepted: number; duplicates: number; dropped: number; run: RunFacts } {
    const now = this.now();
    const out = this.db.transaction(() => {
      const insert = this.db.prepare(
        "INSERT OR IGNORE INTO events (run_id, phase, seq, kind, body, received_at) VALUES (?, ?, ?, ?, ?, ?)",
      );
      let room =
        this.eventsPerRun -
        (
          this.db.prepare("SELECT COUNT(*) AS n FROM events WHERE run_id = ?").get(runId) as {
            n: number;
          }
        ).n;
      let accepted = 0;
      let dropped = 0;
      for (const e of events) {
        if (room <= 0 && !TERMINAL.has(e.kind)) {
          dropped += 1;
          continue;
        }
        // The token fixes the phase; an event claiming another is stored under the token's.
        const ev = { ...e, phase };
        if (insert.run(runId, phase, ev.seq, ev.kind, JSON.stringify(ev), now).changes === 0)
          continue;
        accepted += 1;
        room -= 1;
        this.applyEvent(runId, ev, now);
      }
      this.db.prepare("UPDATE runs SET last_event_at = ? WHERE id = ?").run(now, runId);
      this.db
        .prepare(
          "UPDATE tokens SET expires_at = MAX(expires_at, ?) WHERE run_id = ? AND revoked_at IS NULL",
        )
        .run(now + this.ttl, runId);
      return {
        accepted,
        duplicates: events.length - accepted - dropped,
        dropped,
        run: this.run(runId)!,
      };
    })();
    this.emitter.emit("events", out.run.host, runId);
    this.emitter.emit("change", out.run.host);
    return out;
  }

  private applyEvent(runId: number, e: RunEvent, now: number): void {
    const set = (sql: string, ...args: unknown[]) =>
      this.db.prepare(`UPDATE runs SET ${sql} WHERE id = ?`).run(...args, runId);
    this.db
      .prepare("UPDATE runs SET status = 'running' WHERE id = ? AND status = 'booting'")
      .run(runId);
    switch (e.kind) {
      case "step-start":
        set("current_step = ?, progress = NULL", e.step ?? null);
        break;
      case "progress":
        if (e.progress) set("progress = ?", JSON.stringify(e.progress));
        break;
      case "step-fail":
        {
          const why = describeFailure(e);
          this.endRun(
            runId,
            "failed",
            e.phase === 3
              ? `capture after the install failed (the installed system is in place): ${why}`
              : why,
            now,
          );
          break;
        }
        break;
      case "run-done":
        this.endRun(runId, "done", null, now);
        break;
      default:
        break;
    }
  }

  private endRun(runId: number, status: RunStatus, failure: string | null, now: number): void {
    this.db
      .prepare(
        "UPDATE runs SET status = ?, failure = COALESCE(?, failure), ended_at = ? WHERE id = ? AND status IN ('booting', 'running')",
      )
      .run(status, failure, now, runId);
    this.revokeTokens(runId, now);
  }

  private revokeTokens(runId: number, now: number): void {
    this.db
      .prepare("UPDATE tokens SET revoked_at = ? WHERE run_id = ? AND revoked_at IS NULL")
      .run(now, runId);
  }

  private insertToken(runId: number, phase: RunPhase, now: number): string {
    const token = mintToken();
    this.db
      .prepare("INSERT INTO tokens (hash, run_id, phase, expires_at) VALUES (?, ?, ?, ?)")
      .run(hashToken(token), runId, phase, now + this.ttl);
    return token;
  }

  /** Events of a host's runs with id > afterId, oldest first. */
  hostEvents(host: string, afterId = 0, limit = 1000): StoredEvent[] {
    return this.eventRows(
      `SELECT e.id, e.run_id, e.body, e.received_at, r.host FROM events e JOIN runs r ON r.id = e.run_id
       WHERE r.host = ? AND e.id > ? ORDER BY e.id LIMIT ?`,
      host,
      afterId,
      limit,
    );
  }

  /**
   * What the A/B slot view needs (server/app/slots.ts), oldest first: the
   * phase-done and run-done events that name a slot, and phase 2's failures,
   * of the host's newest `runs` runs.
   */
  slotEvents(host: string, runs = 20): StoredEvent[] {
    return this.eventRows(
      `SELECT e.id, e.run_id, e.body, e.received_at, r.host FROM events e JOIN runs r ON r.id = e.run_id
       WHERE r.id IN (SELECT id FROM runs WHERE host = ? ORDER BY id DESC LIMIT ?)
         AND ((e.kind IN ('phase-done', 'run-done') AND e.body LIKE '%"slot":%')
           OR (e.kind = 'step-fail' AND e.phase = 2))
       ORDER BY e.id`,
      host,
      runs,
    );
  }

  private eventRows(sql: string, ...args: Array<string | number>): StoredEvent[] {
    const rows = this.db.prepare(sql).all(...args) as Array<{
      id: number;
      run_id: number;
      body: string;
      received_at: number;
      host: string;
    }>;
    return rows.map((r) => ({
      id: r.id,
      runId: r.run_id,
      host: r.host,
      receivedAt: r.received_at,
      event: JSON.parse(r.body) as RunEvent,
    }));
  }
}
