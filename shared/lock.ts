// One build at a time per output (the fixture mirror, the image cache): several test files (and
// several engineers' suites) may ask for the fixture at once, and a second
// mmdebstrap + xz would only burn the shared CPU twice.
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes `<path>` (a directory, created atomically) and returns its release; waits while a live process holds it. */
export async function acquireLock(
  path: string,
  onWait: (pid: number) => void,
): Promise<() => Promise<void>> {
  let told = false;
  while (true) {
    try {
      await mkdir(path);
      await writeFile(`${path}/pid`, String(process.pid));
      return () => rm(path, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = Number((await readFile(`${path}/pid`, "utf8").catch(() => "")).trim());
    if (pid && !alive(pid)) {
      await rm(path, { recursive: true, force: true }); // holder died: its tmp dir is abandoned too
      continue;
    }
    if (!told && pid) {
      onWait(pid);
      told = true;
    }
    await sleep(3000);
  }
}
