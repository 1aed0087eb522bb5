// TFTP for the netboot chain: read-only, serves the iPXE binaries folder.
// RFC 1350 + 2347 (options) + 2348 (blksize) + 2349 (tsize, timeout) + 7440
// (windowsize). See packet.ts (codec), options.ts (negotiation), session.ts
// (transfer state machine), transfer.ts (runner), paths.ts (root containment),
// slots.ts (who may start a transfer), config.ts (zod), server.ts (start,
// listening socket), requests.ts (a datagram on it), serve-file.ts (one
// accepted RRQ). Sockets come from hooks.socket (server/net/udp.ts), fakes in
// unit tests; a listening socket that dies stops the server (hooks.onFatal).
//
// Bounds against clients that hold slots or are not there at all (issue #14;
// defaults in TftpConfig, config.ts):
//   timeout option   <= 5 s, else left out of the OACK (RFC 2349 allows only
//                    echo or omit; the client keeps its default)
//   transfer         ends with an ERROR after 5 min (maxTransferMs)
//   per address      8 concurrent transfers, the 9th gets ERROR 0 "too many
//                    transfers from your address" (512 for the whole server)
//   unanswered RRQ   first packet sent 3 times at most (firstRetries 2), then
//                    dropped silently: a spoofed RRQ reflects <= 3 packets
export { startTftpServer } from "./server.ts";
export { parseTftpConfig, type TftpConfig } from "./config.ts";
export type { TftpHooks, TftpServer, TftpStats, TftpTraceEvent } from "./hooks.ts";
