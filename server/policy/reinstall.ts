// `automagic reinstall HOST --via netboot|ssh|kexec` (issue #16): whether the
// server starts it, and at which address the machine is. Pure: the route
// passes in what the host file and the server's tables say.
//
// netboot arms like `next`; ssh and kexec start the run at once with its
// token pinned to the machine's address (nothing else may use it). Over ssh
// the payload runs on the live system, so it may only write a slot the system
// does not run from: layout mode `ab`, install or deploy only.
import type { Action } from "./actions.ts";

export const VIAS = ["netboot", "ssh", "kexec"] as const;
export type Via = (typeof VIAS)[number];

export interface ReinstallAsk {
  host: string;
  via: Via;
  action: Action;
  /** The host's resolved layout mode ("keep", "create", "ab"). */
  layoutMode: string;
  /** --address. */
  address?: string;
  /** The last address the server saw any of the host's MACs at. */
  lastKnown?: string;
}

export type ReinstallDecision =
  { ok: true; address?: string } | { ok: false; status: 400 | 409; reason: string };

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isVia(text: string): text is Via {
  return (VIAS as readonly string[]).includes(text);
}

export function decideReinstall(a: ReinstallAsk): ReinstallDecision {
  const no = (status: 400 | 409, reason: string) => ({ ok: false as const, status, reason });
  if (a.action === "local")
    return no(
      400,
      `reinstall ${a.host}: the action is local; \`automagic next ${a.host} local\` disarms`,
    );
  if (a.via === "netboot") return { ok: true };
  if (a.via === "ssh") {
    if (a.action !== "install" && !a.action.startsWith("deploy:"))
      return no(
        400,
        `reinstall ${a.host} --via ssh: only install or deploy:<image> run on the live system (${a.action}: use --via kexec)`,
      );
    if (a.layoutMode !== "ab")
      return no(
        409,
        `reinstall ${a.host} --via ssh: ${a.host}'s layout is mode ${a.layoutMode}, and over ssh the payload runs on the system it would pave; only layout mode ab (two root slots) installs beside the running system. Use --via kexec or --via netboot`,
      );
  }
  const address = a.address ?? a.lastKnown;
  if (address === undefined)
    return no(
      409,
      `reinstall ${a.host} --via ${a.via}: the server has not seen ${a.host} at any address yet; pass --address IP`,
    );
  if (!IPV4.test(address))
    return no(
      400,
      `reinstall ${a.host} --via ${a.via}: address "${address}" is not an IPv4 address`,
    );
  return { ok: true, address };
}

/**
 * Where `reinstall --via ssh|kexec` puts its files on the machine: on the
 * running root, not /run, which OpenRC, Debian and systemd mount noexec (the
 * payload is an executable).
 */
export const REMOTE = {
  dir: "/var/lib/automagic/reinstall",
  payload: "/var/lib/automagic/reinstall/automagic-install",
  token: "/var/lib/automagic/reinstall/token",
  log: "/var/log/automagic-reinstall.log",
} as const;

/** The payload's command line for a run started over ssh: the token comes from a 0600 file. */
export function payloadArgv(serverUrl: string, action: Action): string[] {
  return [
    REMOTE.payload,
    "--server",
    serverUrl,
    "--token-file",
    REMOTE.token,
    "--action",
    action,
    "--reboot",
  ];
}
