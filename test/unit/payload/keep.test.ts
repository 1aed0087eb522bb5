import { test } from "node:test";
import assert from "node:assert/strict";
import {
  parseGroup,
  parsePasswd,
  parseShadow,
  usableHash,
} from "../../../payload/keep/accounts.ts";
import { parseLsblk, partitionPath } from "../../../payload/probe/lsblk.ts";

test("keep-list: passwd/shadow/group parse, errors name file and line", () => {
  const p = parsePasswd("# c\nalice:x:1000:1000:Alice A:/home/alice:/bin/bash\n\n");
  assert.deepEqual(p[0], {
    name: "alice",
    password: "x",
    uid: 1000,
    gid: 1000,
    gecos: "Alice A",
    home: "/home/alice",
    shell: "/bin/bash",
  });
  assert.throws(
    () => parsePasswd("a:x:zz:1:::/bin/sh\n", "/old/etc/passwd"),
    /\/old\/etc\/passwd: line 1: uid 'zz' is not a number/,
  );
  assert.throws(() => parsePasswd("a:x:1\n", "p"), /p: line 1: expected 7 fields, got 3/);
  const s = parseShadow("alice:$6$s$h:19000:0:99999:7:::\nbob:!:19000::::::\n");
  assert.equal(s[0]!.hash, "$6$s$h");
  assert.ok(
    usableHash(s[0]!.hash) && !usableHash(s[1]!.hash) && !usableHash("*") && !usableHash(""),
  );
  assert.deepEqual(parseGroup("wheel:x:10:root,alice\n")[0]!.members, ["root", "alice"]);
});

test("lsblk: disks and partitions, kernel devices dropped, loop only on request", () => {
  const json = JSON.stringify({
    blockdevices: [
      { name: "zram0", path: "/dev/zram0", type: "disk", size: 8e9, mountpoints: ["[SWAP]"] },
      {
        name: "loop3",
        path: "/dev/loop3",
        type: "loop",
        size: 6442450944,
        pttype: "gpt",
        mountpoints: [null],
        children: [
          {
            name: "loop3p2",
            path: "/dev/loop3p2",
            type: "part",
            size: 5e9,
            fstype: "ext4",
            uuid: "U",
            partlabel: "root",
            partn: 2,
            mountpoints: [null],
          },
        ],
      },
      {
        name: "sda",
        path: "/dev/sda",
        type: "disk",
        size: 500e9,
        serial: "S1",
        model: "X  ",
        pttype: "dos",
        mountpoints: [null],
        children: [{ name: "sda1", type: "part", size: 500e9, fstype: "ext4", mountpoints: ["/"] }],
      },
    ],
  });
  const d = parseLsblk(json, { byId: { "ata-X_S1": "sda" } });
  assert.deepEqual(
    d.map((x) => x.path),
    ["/dev/sda"],
  );
  assert.deepEqual(d[0]!.byId, ["/dev/disk/by-id/ata-X_S1"]);
  assert.equal(d[0]!.model, "X");
  assert.deepEqual(d[0]!.partitions[0]!.mountpoints, ["/"]);
  assert.equal(d[0]!.partitions[0]!.number, 1);
  const l = parseLsblk(json, { includeLoop: true });
  assert.equal(l[0]!.partitions[0]!.partlabel, "root");
  assert.throws(() => parseLsblk("nope"), /lsblk: output is not JSON/);
  assert.equal(partitionPath("/dev/nvme0n1", 2), "/dev/nvme0n1p2");
  assert.equal(partitionPath("/dev/sda", 2), "/dev/sda2");
});

test("blkid export fills what lsblk could not see without udev", async () => {
  const { parseBlkidExport, mergeBlkidPartition } = await import("../../../payload/probe/blkid.ts");
  const b = parseBlkidExport(
    "DEVNAME=/dev/loop0p2\nLABEL=home\nUUID=26c4\nTYPE=ext4\nPART_ENTRY_NAME=home\nPART_ENTRY_UUID=F694\nPART_ENTRY_TYPE=0FC63DAF-8483-4772-8E79-3D69D8477DE4\nPART_ENTRY_NUMBER=2\n",
  );
  const p = mergeBlkidPartition(
    { path: "/dev/loop0p2", name: "loop0p2", sizeBytes: 1, mountpoints: [], uuid: "from-lsblk" },
    b,
  );
  assert.deepEqual(p, {
    path: "/dev/loop0p2",
    name: "loop0p2",
    sizeBytes: 1,
    mountpoints: [],
    uuid: "from-lsblk",
    fstype: "ext4",
    label: "home",
    partlabel: "home",
    partuuid: "F694",
    parttype: "0fc63daf-8483-4772-8e79-3d69d8477de4",
    number: 2,
  });
});
