// Opens the state database: better-sqlite3 in WAL mode with synchronous=FULL,
// so every committed transaction is fsync'd before the call returns and a
// `kill -9` (or power loss) never loses an armed action, a token or an event.
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export type Db = Database.Database;

// Append-only list: entry i migrates schema version i to i+1.
const MIGRATIONS: string[] = [
  `
  CREATE TABLE host_actions (
    host TEXT PRIMARY KEY,
    armed TEXT NOT NULL,
    armed_at INTEGER,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    phase INTEGER NOT NULL DEFAULT 1,
    mac TEXT,
    started_at INTEGER NOT NULL,
    last_event_at INTEGER,
    current_step TEXT,
    progress TEXT,
    failure TEXT,
    ended_at INTEGER
  );
  CREATE INDEX runs_by_host ON runs(host, id);
  CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    phase INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX tokens_by_run ON tokens(run_id);
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    phase INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (run_id, phase, seq)
  );
  CREATE TABLE trace (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mac TEXT NOT NULL,
    time INTEGER NOT NULL,
    source TEXT NOT NULL,
    what TEXT NOT NULL,
    detail TEXT
  );
  CREATE INDEX trace_by_mac ON trace(mac, id);
  CREATE TABLE discovered (
    mac TEXT PRIMARY KEY,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    seen INTEGER NOT NULL,
    arch TEXT,
    uuid TEXT,
    ip TEXT,
    via TEXT
  );
  CREATE TABLE leases (
    mac TEXT PRIMARY KEY,
    ip TEXT NOT NULL,
    expires INTEGER NOT NULL
  );
  `,
  // Tokens bound to the machine (server/policy/address.ts), expiries with
  // their reason (server/policy/expiry.ts), discovered rows pruned by age.
  `
  ALTER TABLE tokens ADD COLUMN ip TEXT;
  ALTER TABLE runs ADD COLUMN boot_ip TEXT;
  ALTER TABLE runs ADD COLUMN spec_ip TEXT;
  ALTER TABLE host_actions ADD COLUMN note TEXT;
  CREATE INDEX discovered_by_age ON discovered(last_seen);
  `,
  // System images (#15): the image name a capture run writes (one name in
  // every store), and the list of images a machine keeps on its own /home as
  // its RAM system last reported it.
  `
  ALTER TABLE runs ADD COLUMN image TEXT;
  CREATE TABLE home_sysimgs (
    host TEXT PRIMARY KEY,
    reported_at INTEGER NOT NULL,
    images TEXT NOT NULL
  );
  `,
  // Hardware inventories (#20): what a discover run reported, per host, or
  // per MAC for a machine no host file claimed when it reported.
  `
  CREATE TABLE inventories (
    key TEXT PRIMARY KEY,
    run_id INTEGER,
    reported_at INTEGER NOT NULL,
    inventory TEXT NOT NULL
  );
  `,
];

export function openDb(stateDir: string): Db {
  mkdirSync(stateDir, { recursive: true });
  const file = join(stateDir, "automagic.sqlite");
  let db: Db;
  try {
    db = new Database(file);
  } catch (err) {
    throw new Error(`${file}: cannot open state database: ${(err as Error).message}`, {
      cause: err,
    });
  }
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db, file);
  return db;
}

function migrate(db: Db, file: string): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(
      `${file}: schema version ${version} is newer than this automagic (${MIGRATIONS.length})`,
    );
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
