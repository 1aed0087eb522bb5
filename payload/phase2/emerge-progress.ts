// Pure parsers for emerge's output: the merge-progress lines, so a step can
// report "package N of M, current atom" while emerge runs, and the lines
// that say why it stopped, for the failure message (emergeReasons). Only
// the `>>>` lines portage's Scheduler prints are progress; build output is
// passed through as log.
// Formats as printed by real emerge (see test/fixtures/emerge/README.md):
//   >>> Emerging (1 of 45) acct-group/floppy-0::gentoo
//   >>> Emerging binary (1 of 13) app-arch/bzip2-1.0.6-r8::gentoo for /emerge-root/
//   >>> Installing (2 of 45) sys-firmware/intel-microcode-20230214_p20230212::gentoo
//   >>> Completed (2 of 45) ...            (portage >= 3.0.45)
//   >>> Jobs: 13 of 13 complete[, 1 running][, 1 failed]   Load avg: ...
//   >>> Failed to emerge sys-libs/glibc-2.38-r10[, Log file: ...]
//   Total: 13 packages (13 new, 13 binaries), Size of downloads: 0 KiB
// and why it stopped (test/fixtures/emerge/portage-3.0.82-*.txt):
//   !!! All ebuilds that could satisfy "app-editors/neovim" have been masked.
//   - app-editors/neovim-0.10.4::gentoo (masked by: ~amd64 keyword)
//   emerge: there are no ebuilds to satisfy "app-misc/nosuch".
//    * ERROR: app-misc/foo-1.0::gentoo failed (compile phase):

export type EmergeLine =
  | { kind: "emerging"; n: number; of: number; cpv: string; binary: boolean }
  | { kind: "installing"; n: number; of: number; cpv: string }
  | { kind: "completed"; n: number; of: number; cpv: string }
  | { kind: "jobs"; done: number; of: number; running: number; failed: number }
  | { kind: "failed"; cpv: string }
  | { kind: "total"; packages: number };

const STEP = /^>>> (Emerging binary|Emerging|Installing|Completed) \((\d+) of (\d+)\) (\S+)/;
const JOBS = /^>>> Jobs: (\d+) of (\d+) complete(?:, (\d+) running)?(?:, (\d+) failed)?/;
const FAILED = /^>>> Failed to emerge ([^\s,]+)/;
const TOTAL = /^Total: (\d+) packages? \(/;

/** Drops the `::repo` suffix: emerge prints cpv::repo, the summary wants cat/pkg-ver. */
function cpvOf(token: string): string {
  const i = token.indexOf("::");
  return i === -1 ? token : token.slice(0, i);
}

/** One output line (already split on \n and \r) -> what it says, or null for any other line. */
export function parseEmergeLine(raw: string): EmergeLine | null {
  const line = raw.trim();
  let m = STEP.exec(line);
  if (m) {
    const n = Number(m[2]);
    const of = Number(m[3]);
    const cpv = cpvOf(m[4]!);
    switch (m[1]) {
      case "Emerging binary":
        return { kind: "emerging", n, of, cpv, binary: true };
      case "Emerging":
        return { kind: "emerging", n, of, cpv, binary: false };
      case "Installing":
        return { kind: "installing", n, of, cpv };
      default:
        return { kind: "completed", n, of, cpv };
    }
  }
  if ((m = JOBS.exec(line))) {
    return {
      kind: "jobs",
      done: Number(m[1]),
      of: Number(m[2]),
      running: Number(m[3] ?? 0),
      failed: Number(m[4] ?? 0),
    };
  }
  if ((m = FAILED.exec(line))) return { kind: "failed", cpv: m[1]! };
  if ((m = TOTAL.exec(line))) return { kind: "total", packages: Number(m[1]) };
  return null;
}

export interface EmergeProgress {
  /** Packages emerge plans to merge (0 until known). */
  total: number;
  /** Packages merged so far. */
  done: number;
  /** The package most recently started. */
  current?: string;
  /** cpvs merged (Installing or Completed seen), in order. */
  merged: string[];
  binaries: number;
  failed: string[];
}

export function initialProgress(): EmergeProgress {
  return { total: 0, done: 0, merged: [], binaries: 0, failed: [] };
}

/**
 * Folds one parsed line into the progress. A package counts as merged at its
 * `Installing` line (older portage prints no `Completed`); with parallel jobs
 * lines arrive out of order, so counts come from the set, not from N.
 */
export function foldEmerge(p: EmergeProgress, l: EmergeLine): EmergeProgress {
  switch (l.kind) {
    case "total":
      return { ...p, total: Math.max(p.total, l.packages) };
    case "emerging":
      return {
        ...p,
        total: Math.max(p.total, l.of),
        current: l.cpv,
        binaries: p.binaries + (l.binary ? 1 : 0),
      };
    case "installing":
    case "completed": {
      if (p.merged.includes(l.cpv)) return { ...p, total: Math.max(p.total, l.of) };
      const merged = [...p.merged, l.cpv];
      return { ...p, total: Math.max(p.total, l.of), merged, done: merged.length };
    }
    case "jobs":
      return { ...p, total: Math.max(p.total, l.of), done: Math.max(p.done, l.done) };
    case "failed":
      return p.failed.includes(l.cpv) ? p : { ...p, failed: [...p.failed, l.cpv] };
  }
}

/** Whole-text convenience (tests, post-mortem of a log): every line folded. */
export function parseEmergeOutput(text: string): EmergeProgress {
  let p = initialProgress();
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const l = parseEmergeLine(raw);
    if (l) p = foldEmerge(p, l);
  }
  return p;
}

/** A line that starts a reason; `block` lines take the lines under them (up to a blank). */
const REASONS: { re: RegExp; block: boolean }[] = [
  { re: /^!!! ?\S/, block: false }, // masked, blocked, slot conflicts, bad config
  { re: /^- \S+::\S+ /, block: true }, // a candidate: "(masked by: ...)", USE="..."
  { re: /^emerge: there are no (ebuilds|binary packages)/, block: false },
  { re: /^ERROR: \S+ failed/, block: true }, // an ebuild phase died; the die message follows
  { re: /^The following REQUIRED_USE flag constraints are unsatisfied:/, block: true },
];

/**
 * The lines of emerge's output (stdout and stderr together) that say why it
 * stopped, in order and without repeats: what a failure message must carry
 * so nobody has to fetch a log to learn that a package is masked.
 */
export function emergeReasons(lines: readonly string[], max = 40): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const raw of lines) {
    // elog lines (" * ERROR: ...") and indented ones read like the rest.
    const text = raw.replace(/^\s*\*(\s|$)/, "").trim();
    const rule = REASONS.find((r) => r.re.test(text));
    if (text === "" || text === "!!!") inBlock = false;
    else if (rule) {
      if (!out.includes(text)) out.push(text);
      inBlock = rule.block;
    } else if (inBlock && !out.includes(text)) out.push(text);
  }
  return out.length > max ? [...out.slice(0, max), `... ${out.length - max} more`] : out;
}
