// What the steps share at run time: the inputs, the injected I/O, and the
// few facts one step learns for a later one (staged files, kept secrets,
// filesystem UUIDs, mounts to undo, the phase-2 token).
import type { InstallSpec } from "../spec/schema.ts";
import type { ProbedSystem } from "../probe/types.ts";
import type { CommandRunner } from "./runner.ts";
import type { Reporter } from "./reporter.ts";

export interface KeptFile {
  name: string;
  mode: number;
  data: Buffer;
}

export interface RunContext {
  spec: InstallSpec;
  probe: ProbedSystem;
  runner: CommandRunner;
  reporter: Reporter;
  /** Server base URL and run token; absent for a --spec run without a server. */
  server?: string;
  token?: string;
  fetch: typeof fetch;
  /** The executable to copy into the new system for phase 2. */
  selfBinary: string;
  /** Current step id, for progress and log events. */
  step: string;
  staged?: {
    stage3: string;
    stage3Bytes: number;
    snapshot: string;
    dir: string;
    cleanup: () => Promise<void>;
  };
  kept: { hashes: Record<string, string>; hostKeys: KeptFile[] };
  /** Block device -> filesystem UUID, read after mkfs. */
  uuids: Map<string, string>;
  /** Mountpoints we created, innermost last; unmounted in reverse. */
  mounts: string[];
  /** /dev/disk/by-uuid links we created because no udev did. */
  createdLinks: string[];
  phase2Token?: string;
  log: (line: string) => void;
}
