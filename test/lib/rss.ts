// Resident memory of a server under test, read from /proc (benches).
import { readFileSync } from "node:fs";

export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN; // process gone
  }
}

/** Sum of RSS over a process and its children (nginx master + workers). */
export function treeRss(pid: number): number {
  let total = rssMiB(pid);
  try {
    for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .split(/\s+/)
      .filter(Boolean)) {
      total += treeRss(Number(c));
    }
  } catch {
    // process gone
  }
  return total;
}
