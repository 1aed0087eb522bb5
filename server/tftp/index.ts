// TFTP for the netboot chain: read-only, serves the iPXE binaries folder.
// RFC 1350 + 2347 (options) + 2348 (blksize) + 2349 (tsize, timeout) + 7440
// (windowsize). See packet.ts (codec), options.ts (negotiation), session.ts
// (transfer state machine), transfer.ts (runner), paths.ts (root containment).
export {
  startTftpServer,
  type TftpConfig,
  type TftpLogger,
  type TftpServer,
  type TftpStats,
  type TftpTraceEvent,
} from "./server.ts";
