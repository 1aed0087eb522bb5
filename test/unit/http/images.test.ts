import { test } from "node:test";
import assert from "node:assert/strict";
import { usableKernelArgs } from "../../../server/http/images.ts";

test("usableKernelArgs: the manifest's kernelArgs, or why not, naming the file", () => {
  const f = "images/x/manifest.json";
  assert.deepEqual(usableKernelArgs(undefined, f), {});
  assert.deepEqual(usableKernelArgs("{}", f), {});
  assert.deepEqual(usableKernelArgs('{"kernelArgs":"  quiet   console=ttyS0 "}', f), {
    args: "quiet console=ttyS0",
  });
  assert.deepEqual(usableKernelArgs('{"kernelArgs":"   "}', f), {});
  for (const bad of [
    '{"kernelArgs":"a ${x}"}',
    '{"kernelArgs":"a # b"}',
    '{"kernelArgs":"a\\nb"}',
    '{"kernelArgs":7}',
  ]) {
    const r = usableKernelArgs(bad, f);
    assert.equal(r.args, undefined, bad);
    assert.match(
      r.warning ?? "",
      /images\/x\/manifest\.json: kernelArgs must be printable ASCII/,
      bad,
    );
  }
  assert.match(usableKernelArgs("{", f).warning ?? "", /images\/x\/manifest\.json: not JSON/);
});
