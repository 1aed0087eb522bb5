import { test } from "node:test";
import assert from "node:assert/strict";
import { overlayAttrs } from "../../../server/app/overlay-attrs.ts";
import type { HostEntry } from "../../../server/hosts/index.ts";

test("overlay.modes from the host file become the packer's per-path modes", () => {
  const host = {
    raw: { overlay: { modes: { "/etc/sudoers.d/wheel": "0440" } } },
  } as unknown as HostEntry;
  assert.deepEqual(overlayAttrs(host), { "etc/sudoers.d/wheel": { mode: 0o440 } });
  assert.deepEqual(overlayAttrs({ raw: {} } as unknown as HostEntry), {});
});
