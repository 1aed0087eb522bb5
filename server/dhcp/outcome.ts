// What handling one request produced: maybe a reply and where it goes, a
// trace line for the boot trace, maybe a lease record to persist first.
import type { DhcpPacket } from "./codec.ts";
import type { JournalRecord } from "./journal.ts";
import type { Destination } from "./reply.ts";

export interface Outcome {
  reply?: { packet: DhcpPacket; to: Destination };
  trace: { what: string; detail: Record<string, unknown> };
  /** Written (and synced) before the reply is sent. */
  persist?: JournalRecord;
}
