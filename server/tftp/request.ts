// What to do with a datagram that arrived on the listening port. Pure.
import { decode, ERR, type OptionList } from "./packet.ts";

export type RequestDecision =
  | { kind: "drop"; malformed: boolean; reason: string }
  | { kind: "refuse"; code: number; message: string; reason: string; filename?: string }
  | { kind: "serve"; filename: string; mode: "octet" | "netascii"; options: OptionList };

export function decideRequest(msg: Buffer): RequestDecision {
  const d = decode(msg);
  if (!d.ok) return { kind: "drop", malformed: true, reason: d.reason };
  const p = d.packet;
  if (p.op === "wrq") {
    return {
      kind: "refuse",
      code: ERR.ACCESS_VIOLATION,
      message: "read-only server",
      reason: "write request refused",
      filename: p.filename,
    };
  }
  if (p.op !== "rrq") {
    // DATA/ACK/ERROR/OACK belong to a transfer port, never to port 69.
    // Answering them would let anyone bounce errors off us; just drop.
    return { kind: "drop", malformed: false, reason: `unexpected ${p.op} on the listening port` };
  }
  if (p.mode !== "octet" && p.mode !== "netascii") {
    return {
      kind: "refuse",
      code: ERR.ILLEGAL_OPERATION,
      message: `unsupported mode '${p.mode}'`,
      reason: `mode '${p.mode}'`,
      filename: p.filename,
    };
  }
  return { kind: "serve", filename: p.filename, mode: p.mode, options: p.options };
}
