import { test } from "node:test";
import assert from "node:assert/strict";
import { parseModulesDep, selectModules } from "../../../image-builder/base/modules.ts";

const DEP = `kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz
kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz
kernel/net/core/failover.ko.xz:
kernel/sound/core/snd.ko.xz: kernel/sound/core/snd-timer.ko.xz
kernel/sound/core/snd-timer.ko.xz:
kernel/fs/btrfs/btrfs.ko.xz: kernel/lib/raid6/raid6_pq.ko.xz kernel/crypto/xor.ko.xz
kernel/lib/raid6/raid6_pq.ko.xz:
kernel/crypto/xor.ko.xz:
kernel/drivers/gpu/drm/drm.ko.xz:
`;

test("parseModulesDep reads modules and their dependencies", () => {
  const deps = parseModulesDep(DEP);
  assert.equal(deps.size, 9);
  assert.deepEqual(deps.get("kernel/drivers/net/net_failover.ko.xz"), [
    "kernel/net/core/failover.ko.xz",
  ]);
  assert.deepEqual(deps.get("kernel/crypto/xor.ko.xz"), []);
});

test("selectModules keeps matches plus their dependency closure, drops the rest", () => {
  const keep = selectModules(parseModulesDep(DEP), ["drivers/net/virtio_net", "fs/btrfs/"]);
  assert.deepEqual([...keep].sort(), [
    "kernel/crypto/xor.ko.xz",
    "kernel/drivers/net/net_failover.ko.xz",
    "kernel/drivers/net/virtio_net.ko.xz",
    "kernel/fs/btrfs/btrfs.ko.xz",
    "kernel/lib/raid6/raid6_pq.ko.xz",
    "kernel/net/core/failover.ko.xz",
  ]);
});

test("the default keep-rules drop sound and GPUs but keep virtio, e1000, NVMe and ext4", () => {
  const names = [
    "drivers/net/virtio_net",
    "drivers/net/ethernet/intel/e1000/e1000",
    "drivers/nvme/host/nvme",
    "fs/ext4/ext4",
    "sound/core/snd",
    "drivers/gpu/drm/drm",
  ];
  const deps = new Map(names.map((n) => [`kernel/${n}.ko.xz`, [] as string[]]));
  const keep = selectModules(deps);
  assert.deepEqual(
    names.filter((n) => keep.has(`kernel/${n}.ko.xz`)),
    [
      "drivers/net/virtio_net",
      "drivers/net/ethernet/intel/e1000/e1000",
      "drivers/nvme/host/nvme",
      "fs/ext4/ext4",
    ],
  );
});
