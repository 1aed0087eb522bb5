// Who may make the mirror fetch what. Fetching from upstream and keeping the
// result is what costs (bandwidth, disk), so without a valid run token a
// client only gets what the current host files use: their stage3 variants
// and binhost folders. Serving what is already cached and verified costs
// nothing and stays open (router.ts decides that). Pure apart from the
// memo in demandFromHosts.
import { BINPACKAGES, type MirrorTarget } from "./paths.ts";

/** What the current host files make the payload and Portage ask for. */
export interface MirrorDemand {
  /** stage3 variants, e.g. "openrc", "desktop-systemd". */
  variants: ReadonlySet<string>;
  /** Binhost folders as "<release>/<isa>", e.g. "23.0/x86-64". */
  binhosts: ReadonlySet<string>;
}

/** The server's side of the gate: what the host files use, and whether a run token is valid. */
export interface MirrorGate {
  demand(): MirrorDemand;
  authorize(token: string): boolean;
}

/** The parts of an install spec that name mirror paths. */
export interface DemandSpec {
  stage3: { variant: string };
  portage: { binhostUrl?: string | undefined };
}

const BINHOST_URL = new RegExp(`/${BINPACKAGES}/([^/]+)/([^/]+)/?$`);

export function demandOf(specs: Iterable<DemandSpec>): MirrorDemand {
  const variants = new Set<string>();
  const binhosts = new Set<string>();
  for (const s of specs) {
    variants.add(s.stage3.variant);
    const m = s.portage.binhostUrl
      ? BINHOST_URL.exec(new URL(s.portage.binhostUrl).pathname)
      : null;
    if (m) binhosts.add(`${m[1]}/${m[2]}`);
  }
  return { variants, binhosts };
}

/** Why `target` is not something the host files use (so fetching it needs a token), or undefined. */
export function unusedReason(
  target: MirrorTarget,
  d: MirrorDemand,
  now = Date.now(),
): string | undefined {
  switch (target.kind) {
    case "dated": {
      // Installed systems sync without a token (their run ended); what they
      // may make the mirror fetch is the last DATED_DAYS days' snapshots.
      const t = Date.UTC(
        +target.date.slice(0, 4),
        +target.date.slice(4, 6) - 1,
        +target.date.slice(6),
      );
      const age = (now - t) / 86400_000;
      return age >= -1 && age <= DATED_DAYS
        ? undefined
        : `snapshot of ${target.date}: not within the last ${DATED_DAYS} days`;
    }
    case "pointer":
    case "stage3":
      return d.variants.has(target.variant)
        ? undefined
        : `stage3 variant "${target.variant}": no host file uses it`;
    case "binindex":
    case "binpkg": {
      const dir = `${target.release}/${target.isa}`;
      return d.binhosts.has(dir) ? undefined : `binhost ${dir}: no host file uses it`;
    }
    default:
      // Keys are local files; every install fetches the one snapshot.
      return undefined;
  }
}

/** How far back emerge-webrsync's dated snapshots may be fetched without a token. */
export const DATED_DAYS = 14;

/** The token of `Authorization: Bearer <token>`. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1];
}

/**
 * The demand of the current hosts, recomputed only when the list changes (a
 * reload swaps the array). A host whose spec does not resolve is skipped:
 * it cannot install anyway, and its error is reported when it boots.
 */
export function demandFromHosts<H>(
  hosts: () => readonly H[],
  specOf: (host: H) => DemandSpec,
  onError: (host: H, err: unknown) => void = () => {},
): () => MirrorDemand {
  let memo: { hosts: readonly H[]; demand: MirrorDemand } | undefined;
  return () => {
    const current = hosts();
    if (memo?.hosts !== current) {
      const specs: DemandSpec[] = [];
      for (const h of current) {
        try {
          specs.push(specOf(h));
        } catch (err) {
          onError(h, err);
        }
      }
      memo = { hosts: current, demand: demandOf(specs) };
    }
    return memo.demand;
  };
}
