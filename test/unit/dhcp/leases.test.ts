import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  journalFs,
  LeaseJournal,
  replayJournal,
  type JournalFs,
} from "../../../server/dhcp/journal.ts";
import { LeaseTable, OFFER_HOLD_MS } from "../../../server/dhcp/lease-table.ts";

describe("lease table", () => {
  it("holds an offer briefly, then lets the address go to someone else", () => {
    let now = 0;
    const t = new LeaseTable("10.0.0.1", "10.0.0.1", () => now);
    t.hold("a", t.choose("a")!);
    assert.equal(t.choose("b"), undefined);
    now += OFFER_HOLD_MS + 1;
    assert.equal(t.choose("b"), "10.0.0.1");
  });

  it("gives a client its current lease and honours a free requested address", () => {
    const t = new LeaseTable("10.0.0.1", "10.0.0.9", () => 0);
    t.bind("a", "10.0.0.5", 60);
    assert.equal(t.choose("a"), "10.0.0.5");
    assert.equal(t.choose("b", "10.0.0.5"), "10.0.0.1");
    assert.equal(t.choose("b", "10.0.0.7"), "10.0.0.7");
    assert.equal(t.choose("b", "10.0.1.7"), "10.0.0.2");
  });

  it("a new DISCOVER does not shorten a bound lease", () => {
    const t = new LeaseTable("10.0.0.1", "10.0.0.9", () => 0);
    t.bind("a", "10.0.0.5", 3600);
    t.hold("a", "10.0.0.5");
    assert.equal(t.leaseOf("a")?.state, "bound");
  });
});

describe("lease journal", () => {
  it("replays last-record-wins and skips a torn line", () => {
    const r = replayJournal(
      "aa 10.0.0.1 100\nbb 10.0.0.2 200\naa 10.0.0.3 300\nbb 10.0.0.2 0\ncc 10.0",
    );
    assert.deepEqual(
      [...r.values()],
      [
        { mac: "aa", ip: "10.0.0.3", expires: 300 },
        { mac: "bb", ip: "10.0.0.2", expires: 0 },
      ],
    );
  });

  it("persists appends, compacts on open and drops expired records", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "am-dhcp-j-")), "sub", "leases");
    const a = await LeaseJournal.open(path, 1000);
    assert.deepEqual(a.records, []);
    await Promise.all([
      a.journal.append({ mac: "02:00:00:00:00:01", ip: "10.0.0.1", expires: 5000 }),
      a.journal.append({ mac: "02:00:00:00:00:02", ip: "10.0.0.2", expires: 5000 }),
      a.journal.append({ mac: "02:00:00:00:00:01", ip: "10.0.0.1", expires: 9000 }),
      a.journal.append({ mac: "02:00:00:00:00:03", ip: "10.0.0.3", expires: 1500 }),
    ]);
    await a.journal.close();
    appendFileSync(path, "02:00:00:00:00:04 10.0"); // a torn write at crash time
    const b = await LeaseJournal.open(path, 2000);
    await b.journal.close();
    assert.deepEqual(b.records, [
      { mac: "02:00:00:00:00:01", ip: "10.0.0.1", expires: 9000 },
      { mac: "02:00:00:00:00:02", ip: "10.0.0.2", expires: 5000 },
    ]);
    assert.equal(
      readFileSync(path, "utf8"),
      "02:00:00:00:00:01 10.0.0.1 9000\n02:00:00:00:00:02 10.0.0.2 5000\n",
    );
  });
});

describe("lease journal in write mode", () => {
  it("has the line in the file as soon as append resolves", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "am-dhcp-j-")), "leases");
    const { journal } = await LeaseJournal.open(path, 0, "write");
    await journal.append({ mac: "02:00:00:00:00:09", ip: "10.0.0.9", expires: 7000 });
    assert.equal(readFileSync(path, "utf8"), "02:00:00:00:00:09 10.0.0.9 7000\n");
    await journal.close();
  });
});

describe("lease journal compaction", () => {
  it("rewrites the file to the live leases, then keeps appending after them", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "am-dhcp-j-")), "leases");
    const { journal } = await LeaseJournal.open(path, 0);
    for (let i = 0; i < 50; i += 1) {
      await journal.append({ mac: "02:00:00:00:00:01", ip: "10.0.0.1", expires: 1000 + i });
    }
    assert.equal(journal.appendedLines, 50);
    journal.requestCompaction([{ mac: "02:00:00:00:00:01", ip: "10.0.0.1", expires: 1049 }]);
    await journal.append({ mac: "02:00:00:00:00:02", ip: "10.0.0.2", expires: 2000 });
    await journal.close();
    assert.equal(
      readFileSync(path, "utf8"),
      "02:00:00:00:00:01 10.0.0.1 1049\n02:00:00:00:00:02 10.0.0.2 2000\n",
    );
  });
});

/** The journal's real file operations, recording every file sync, rename and folder sync in order. */
function recordingFs(): { fs: JournalFs; ops: string[] } {
  const ops: string[] = [];
  const fs: JournalFs = {
    async open(path, flags) {
      const fh = await journalFs.open(path, flags);
      const sync = fh.sync.bind(fh);
      fh.sync = async () => {
        ops.push(`sync ${path}`);
        return sync();
      };
      return fh;
    },
    async rename(from, to) {
      ops.push(`rename ${from} ${to}`);
      return journalFs.rename(from, to);
    },
    async syncDir(dir) {
      ops.push(`syncdir ${dir}`);
      return journalFs.syncDir(dir);
    },
  };
  return { fs, ops };
}

describe("lease journal compaction durability", () => {
  // A compacted file is only durable once its folder entry is: after a crash
  // that lost the rename, the folder still names the old file, and every
  // lease appended to the new one since (ACKs already sent) is gone.
  const expected = (path: string) => [
    `sync ${path}.tmp`,
    `rename ${path}.tmp ${path}`,
    `syncdir ${dirname(path)}`,
  ];

  it("syncs the temp file before the rename and the folder after it, at open", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "am-dhcp-j-")), "leases");
    const { fs, ops } = recordingFs();
    const { journal } = await LeaseJournal.open(path, 0, "write", fs);
    await journal.close();
    assert.deepEqual(ops, expected(path));
  });

  it("does the same when the server asks for a compaction", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "am-dhcp-j-")), "leases");
    const { fs, ops } = recordingFs();
    const { journal } = await LeaseJournal.open(path, 0, "write", fs);
    ops.length = 0;
    journal.requestCompaction([{ mac: "02:00:00:00:00:01", ip: "10.0.0.1", expires: 1049 }]);
    await journal.append({ mac: "02:00:00:00:00:02", ip: "10.0.0.2", expires: 2000 });
    await journal.close();
    assert.deepEqual(ops, expected(path));
    assert.equal(
      readFileSync(path, "utf8"),
      "02:00:00:00:00:01 10.0.0.1 1049\n02:00:00:00:00:02 10.0.0.2 2000\n",
    );
  });
});

describe("LeaseTable.holderOf (the run-token proof's lease lookup)", () => {
  it("names the MAC of a bound, unexpired lease only", () => {
    let now = 1_000_000;
    const t = new LeaseTable("10.0.0.10", "10.0.0.20", () => now);
    t.hold("52:54:00:00:00:01", "10.0.0.10");
    assert.equal(t.holderOf("10.0.0.10"), undefined, "an offer is not a lease");
    t.bind("52:54:00:00:00:01", "10.0.0.10", 60);
    assert.equal(t.holderOf("10.0.0.10"), "52:54:00:00:00:01");
    assert.equal(t.holderOf("10.0.0.11"), undefined);
    assert.equal(t.holderOf("not-an-ip"), undefined);
    now += 61_000;
    assert.equal(t.holderOf("10.0.0.10"), undefined, "expired");
    t.bind("52:54:00:00:00:01", "10.0.0.10", 60);
    t.decline("10.0.0.10");
    assert.equal(t.holderOf("10.0.0.10"), undefined, "declined");
  });
});
