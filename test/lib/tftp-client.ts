// A small TFTP read client for tests: RRQ with options, OACK, lock-step or
// RFC 7440 windows. Not a substitute for the real clients (tftp-hpa, atftp,
// curl) the integration tests run; it drives the server from unit tests and
// checks details the real clients do not expose (OACK values, error codes).
import dgram from "node:dgram";
import { decode, encodeAck, encodeRequest, type OptionList } from "../../server/tftp/packet.ts";

export interface GetResult {
  data: Buffer;
  oack: OptionList | undefined;
  /** Port the server answered from (its TID). */
  serverPort: number;
}

export class TftpError extends Error {
  constructor(
    public readonly code: number,
    message: string,
  ) {
    super(`TFTP error ${code}: ${message}`);
  }
}

export async function tftpGet(opts: {
  host: string;
  port: number;
  file: string;
  mode?: string;
  options?: OptionList;
  timeoutMs?: number;
  /** The address to send from (a machine's leased address among many on one link). */
  localAddress?: string;
}): Promise<GetResult> {
  const sock = dgram.createSocket("udp4");
  const windowsize = Number(opts.options?.find(([n]) => n === "windowsize")?.[1] ?? 1);
  try {
    await new Promise<void>((r) => sock.bind(0, opts.localAddress ?? "0.0.0.0", r));
    return await new Promise<GetResult>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let blksize = 512;
      let expected = 1;
      let inWindow = 0;
      let serverPort = 0;
      let oack: OptionList | undefined;
      const timer = setTimeout(
        () => reject(new Error(`tftpGet ${opts.file}: timed out`)),
        opts.timeoutMs ?? 5000,
      );
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        fn();
      };
      sock.on("message", (msg, rinfo) => {
        if (serverPort === 0) serverPort = rinfo.port;
        if (rinfo.port !== serverPort) return;
        const d = decode(msg);
        if (!d.ok) return;
        const p = d.packet;
        const ack = (n: number) => sock.send(encodeAck(n), serverPort, opts.host);
        if (p.op === "error") return finish(() => reject(new TftpError(p.code, p.message)));
        if (p.op === "oack") {
          oack = p.options;
          const b = p.options.find(([n]) => n.toLowerCase() === "blksize");
          if (b) blksize = Number(b[1]);
          return ack(0);
        }
        if (p.op !== "data") return;
        if (p.block !== (expected & 0xffff)) {
          ack((expected - 1) & 0xffff); // gap: restart the window (RFC 7440)
          inWindow = 0;
          return;
        }
        chunks.push(Buffer.from(p.data));
        expected += 1;
        inWindow += 1;
        const last = p.data.length < blksize;
        if (last || inWindow >= windowsize) {
          ack(p.block);
          inWindow = 0;
        }
        if (last) finish(() => resolve({ data: Buffer.concat(chunks), oack, serverPort }));
      });
      sock.send(
        encodeRequest("rrq", opts.file, opts.mode ?? "octet", opts.options ?? []),
        opts.port,
        opts.host,
      );
    });
  } finally {
    sock.close();
  }
}
