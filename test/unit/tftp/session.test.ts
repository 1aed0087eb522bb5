import assert from "node:assert/strict";
import { test } from "node:test";
import * as s from "../../../server/tftp/session.ts";

const params = (over: Partial<s.SessionParams> = {}): s.SessionParams => ({
  size: 2048,
  blksize: 512,
  windowsize: 1,
  timeoutMs: 1000,
  maxRetries: 3,
  firstRetries: 2,
  maxTimeoutMs: 8000,
  lifetimeMs: 300_000,
  oack: false,
  ...over,
});

test("a file of exactly 4 blocks ends with an empty 5th block", () => {
  const p = params();
  assert.equal(s.lastBlock(p), 5);
  assert.deepEqual(s.blockRange(p, 5), { start: 2048, end: 2048 });
  assert.equal(s.lastBlock(params({ size: 2047 })), 4);
  assert.equal(s.lastBlock(params({ size: 0 })), 1);
});

test("lock-step: start sends block 1, each ACK the next, last ACK ends", () => {
  const p = params({ size: 1000 });
  let st = s.start(p);
  assert.deepEqual(st.actions, [
    { kind: "send-blocks", from: 1, to: 1 },
    { kind: "arm", ms: 1000 },
  ]);
  st = s.onAck(p, st.state, 1);
  assert.deepEqual(st.actions[0], { kind: "send-blocks", from: 2, to: 2 });
  st = s.onAck(p, st.state, 2);
  assert.deepEqual(st.actions, [{ kind: "done" }]);
  assert.equal(st.state.phase, "done");
});

test("lock-step ignores duplicate ACKs (no Sorcerer's Apprentice)", () => {
  const p = params();
  let st = s.onAck(p, s.start(p).state, 1);
  st = s.onAck(p, st.state, 1);
  assert.deepEqual(st.actions, []);
  st = s.onAck(p, st.state, 9); // ACK for a block never sent
  assert.deepEqual(st.actions, []);
});

test("OACK first, data only after ACK 0", () => {
  const p = params({ oack: true });
  let st = s.start(p);
  assert.deepEqual(st.actions, [{ kind: "send-oack" }, { kind: "arm", ms: 1000 }]);
  assert.deepEqual(s.onAck(p, st.state, 3).actions, []);
  st = s.onAck(p, st.state, 0);
  assert.deepEqual(st.actions[0], { kind: "send-blocks", from: 1, to: 1 });
});

test("timeouts resend with exponential back-off, then give up with an ERROR", () => {
  const p = params({ maxRetries: 3, maxTimeoutMs: 3000 });
  let st = s.onAck(p, s.start(p).state, 1);
  const arms: number[] = [];
  for (let i = 0; i < 3; i++) {
    st = s.onTimeout(p, st.state);
    assert.deepEqual(st.actions[0], { kind: "send-blocks", from: 2, to: 2 });
    arms.push((st.actions[1] as { ms: number }).ms);
  }
  assert.deepEqual(arms, [2000, 3000, 3000]);
  st = s.onTimeout(p, st.state);
  assert.equal(st.state.phase, "failed");
  assert.equal(st.actions[0]?.kind, "fail");
  // Progress resets the back-off.
  let ok = s.onAck(p, s.start(p).state, 1);
  ok = s.onTimeout(p, ok.state);
  ok = s.onAck(p, ok.state, 2);
  assert.deepEqual(ok.actions[1], { kind: "arm", ms: 1000 });
});

test("windowsize 4: a window is sent, an ACK for the window end slides it", () => {
  const p = params({ size: 512 * 10 + 1, windowsize: 4 });
  let st = s.start(p);
  assert.deepEqual(st.actions[0], { kind: "send-blocks", from: 1, to: 4 });
  st = s.onAck(p, st.state, 4);
  assert.deepEqual(st.actions[0], { kind: "send-blocks", from: 5, to: 8 });
  st = s.onAck(p, st.state, 8);
  assert.deepEqual(st.actions[0], { kind: "send-blocks", from: 9, to: 11 });
  st = s.onAck(p, st.state, 11);
  assert.equal(st.state.phase, "done");
});

test("windowsize 4: a gap ACK restarts the window after the last good block", () => {
  const p = params({ size: 512 * 20, windowsize: 4 });
  let st = s.start(p); // 1..4 sent, block 3 lost
  st = s.onAck(p, st.state, 2);
  assert.deepEqual(st.actions[0], { kind: "send-blocks", from: 3, to: 6 });
  // First block of the window lost: the duplicate ACK resends once, not twice.
  st = s.onAck(p, st.state, 2);
  assert.deepEqual(st.actions[0], { kind: "send-blocks", from: 3, to: 6 });
  assert.deepEqual(s.onAck(p, st.state, 2).actions, []);
  // A timeout resends from the first unacknowledged block.
  st = s.onTimeout(p, st.state);
  assert.deepEqual(st.actions[0], { kind: "send-blocks", from: 3, to: 6 });
});

test("block numbers roll over past 65535 and ACKs map back to absolute blocks", () => {
  const p = params({ size: 512 * 70000, windowsize: 8 });
  const state: s.SessionState = {
    phase: "data",
    acked: 65530,
    sent: 65538,
    retries: 0,
    dupResent: false,
  };
  assert.equal(s.absoluteAck(state, 65535), 65535);
  assert.equal(s.absoluteAck(state, 0), 65536);
  assert.equal(s.absoluteAck(state, 2), 65538);
  assert.equal(s.absoluteAck(state, 3), undefined);
  assert.equal(s.absoluteAck(state, 65529), undefined);
  const st = s.onAck(p, state, 1);
  assert.equal(st.state.acked, 65537);
  assert.deepEqual(st.actions[0], { kind: "send-blocks", from: 65538, to: 65545 });
});

test("a client ERROR ends the transfer without an answer", () => {
  const p = params();
  const st = s.onClientError(s.start(p).state, 8, "option refused");
  assert.equal(st.state.phase, "failed");
  assert.deepEqual(st.actions, [{ kind: "fail", reason: "client sent error 8: option refused" }]);
  assert.deepEqual(s.onTimeout(p, st.state).actions, []);
});

test("an unanswered first packet (DATA 1 or OACK) is resent at most firstRetries times, then dropped silently", () => {
  for (const oack of [false, true]) {
    const p = params({ oack, maxRetries: 5, firstRetries: 2 });
    let st = s.start(p);
    const first = st.actions[0];
    for (let i = 0; i < 2; i++) {
      st = s.onTimeout(p, st.state);
      assert.deepEqual(st.actions[0], first, `oack=${oack} resend ${i + 1}`);
    }
    st = s.onTimeout(p, st.state);
    assert.equal(st.state.phase, "failed");
    // No ERROR to a peer that never spoke: it may be a spoofed address.
    assert.deepEqual(st.actions, [
      { kind: "fail", reason: "no answer to the first packet after 2 retransmissions" },
    ]);
  }
});

test("once the peer has answered, the full retry budget applies", () => {
  // ACK 0 to the OACK counts as an answer even though no block is acked yet.
  const p = params({ oack: true, maxRetries: 4, firstRetries: 1 });
  let st = s.onAck(p, s.start(p).state, 0);
  for (let i = 0; i < 4; i++) {
    st = s.onTimeout(p, st.state);
    assert.deepEqual(st.actions[0], { kind: "send-blocks", from: 1, to: 1 });
  }
  assert.equal(s.onTimeout(p, st.state).actions[0]?.kind, "fail");
});

test("a transfer past its lifetime fails with an ERROR; a finished one stays finished", () => {
  const p = params({ lifetimeMs: 180_000 });
  const st = s.onAck(p, s.start(p).state, 1);
  assert.deepEqual(s.onExpired(p, st.state), {
    state: { ...st.state, phase: "failed" },
    actions: [
      {
        kind: "fail",
        reason: "transfer exceeded its lifetime of 180 s (last acked block 1)",
        error: { code: 0, message: "transfer took too long" },
      },
    ],
  });
  const done = s.onAck(
    p,
    s.onAck(p, s.onAck(p, s.onAck(p, st.state, 2).state, 3).state, 4).state,
    5,
  );
  assert.equal(done.state.phase, "done");
  assert.deepEqual(s.onExpired(p, done.state).actions, []);
});
