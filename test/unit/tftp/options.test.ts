import assert from "node:assert/strict";
import { test } from "node:test";
import { negotiate } from "../../../server/tftp/options.ts";

const limits = { maxBlksize: 1468, maxWindowsize: 16, maxTimeout: 5 };

test("no options: RFC 1350 defaults and no OACK", () => {
  assert.deepEqual(negotiate([], 100, limits), {
    blksize: 512,
    windowsize: 1,
    timeoutMs: 1000,
    oack: [],
  });
});

test("tsize is answered with the file size, blksize clamped, timeout echoed", () => {
  const n = negotiate(
    [
      ["TSIZE", "0"],
      ["blksize", "8192"],
      ["timeout", "3"],
    ],
    74213,
    limits,
  );
  assert.deepEqual(n, {
    blksize: 1468,
    windowsize: 1,
    timeoutMs: 3000,
    oack: [
      ["TSIZE", "74213"],
      ["blksize", "1468"],
      ["timeout", "3"],
    ],
  });
});

test("windowsize (RFC 7440) is accepted and clamped", () => {
  assert.deepEqual(negotiate([["windowsize", "8"]], 1, limits).oack, [["windowsize", "8"]]);
  assert.equal(negotiate([["windowsize", "64"]], 1, limits).windowsize, 16);
});

test("out-of-range or non-numeric values are left out of the OACK", () => {
  const n = negotiate(
    [
      ["blksize", "7"],
      ["blksize", "9"], // duplicate: first wins, so still refused
      ["timeout", "0"],
      ["timeout2", "1"],
      ["windowsize", "0"],
      ["tsize", "-1"],
      ["multicast", ""],
    ],
    5,
    limits,
  );
  assert.deepEqual(n, { blksize: 512, windowsize: 1, timeoutMs: 1000, oack: [] });
  assert.equal(negotiate([["timeout", "256"]], 5, limits).oack.length, 0);
  assert.equal(negotiate([["blksize", "1e3"]], 5, limits).oack.length, 0);
});

test("a timeout above the cap is left out of the OACK and the default used (RFC 2349)", () => {
  // RFC 2349: the OACK must carry the client's value exactly, so the only
  // way to refuse 255 s is to leave the option out; the client then uses
  // its own default and so do we.
  const n = negotiate(
    [
      ["blksize", "1432"],
      ["timeout", "255"],
      ["tsize", "0"],
    ],
    9,
    limits,
  );
  assert.deepEqual(n, {
    blksize: 1432,
    windowsize: 1,
    timeoutMs: 1000,
    oack: [
      ["blksize", "1432"],
      ["tsize", "9"],
    ],
  });
  assert.deepEqual(negotiate([["timeout", "5"]], 9, limits).oack, [["timeout", "5"]]);
  assert.equal(negotiate([["timeout", "6"]], 9, limits).oack.length, 0);
});
