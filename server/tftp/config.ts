// TftpConfig: what `serve` (or a test) asks of the TFTP server, validated
// with zod so a typo fails at start naming the field, as DHCP's does.
import { isIP } from "node:net";
import { z } from "zod";
import { issueLines } from "../../payload/spec/schema.ts";

const count = (min: number, max: number) => z.number().int().min(min).max(max).optional();

export const tftpConfigSchema = z
  .object({
    /** Directory served read-only (the iPXE binaries folder). */
    root: z.string().min(1),
    address: z.string().refine((s) => isIP(s) !== 0, "not an IP address"),
    /** Default 69; 0 picks a free port (tests). */
    port: count(0, 65535),
    /** Interface the address lives on; its MTU caps blksize so blocks are never fragmented. */
    interface: z.string().min(1).max(15).optional(),
    /** Default 65464 (RFC 2348 maximum). */
    maxBlksize: count(8, 65464),
    /** Default 64. */
    maxWindowsize: count(1, 65535),
    /** Concurrent transfers before new requests are refused. Default 512. */
    maxTransfers: count(1, 1_000_000),
    /**
     * Concurrent transfers from one source address. Default 8: a PXE ROM or
     * iPXE fetches one file at a time; 8 leaves room for retries and tsize
     * probes while one host (or one spoofed address) can no longer hold all
     * the slots.
     */
    maxTransfersPerAddress: count(1, 1_000_000),
    /** Retransmissions of one window before a transfer is abandoned. Default 5. */
    maxRetries: count(0, 100),
    /**
     * Retransmissions of the first packet (OACK or DATA 1) while the peer has
     * not answered at all. Default 2: a spoofed RRQ gets at most 3 packets back
     * (at 0, 1 and 3 s), then silence; a real client answers in milliseconds.
     */
    firstRetries: count(0, 100),
    /** Cap of the exponential back-off. Default 8000 ms. */
    maxTimeoutMs: count(1, 3_600_000),
    /**
     * Largest RFC 2349 `timeout` (seconds) we accept; a larger one is left out
     * of the OACK (the RFC lets the server only echo or omit it). Default 5.
     */
    maxTimeoutOption: count(1, 255),
    /**
     * A transfer's lifetime: one still running after this is ended with an
     * ERROR. Default 300000 ms (5 min): undionly.kpxe or snponly.efi (< 1 MB)
     * at blksize 512 with 10% loss and 1-2 s per lost packet takes ~3 min.
     */
    maxTransferMs: count(1, 86_400_000),
  })
  .strict();

export type TftpConfig = z.input<typeof tftpConfigSchema>;
export type TftpSettings = z.output<typeof tftpConfigSchema>;

export function parseTftpConfig(cfg: unknown): TftpSettings {
  const r = tftpConfigSchema.safeParse(cfg);
  if (!r.success) {
    throw new Error(issueLines(r.error, "tftp config").join("\n"), { cause: r.error });
  }
  return r.data;
}
