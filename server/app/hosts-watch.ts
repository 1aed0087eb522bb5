// Host registry held for the running server: loaded at start (any error
// refuses the start), reloaded on SIGHUP or file change. A reload that fails
// keeps the previous registry, so a half-saved file never drops a host
// mid-install; state lives in the store, not in the registry.
import { watch, type FSWatcher } from "node:fs";
import type { Log } from "../log.ts";
import { HostFileError, loadHostRegistry, type HostRegistry } from "../hosts/index.ts";

export class LiveHosts {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private constructor(
    private current: HostRegistry,
    private readonly dir: string,
    private readonly log: Log,
  ) {}

  static async load(dir: string, log: Log): Promise<LiveHosts> {
    return new LiveHosts(await loadHostRegistry(dir), dir, log);
  }

  get(): HostRegistry {
    return this.current;
  }

  async reload(why: string): Promise<boolean> {
    try {
      this.current = await loadHostRegistry(this.dir);
      this.log.info({ why, hosts: this.current.hosts.length }, "hosts reloaded");
      return true;
    } catch (err) {
      const messages = err instanceof HostFileError ? err.messages : [(err as Error).message];
      this.log.error({ why, messages }, "hosts reload failed; keeping the previous host files");
      return false;
    }
  }

  /** Reload (debounced) whenever something under the host folder changes. */
  watch(): void {
    try {
      this.watcher = watch(this.dir, { recursive: true }, () => {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => void this.reload("file change"), 300);
      });
    } catch (err) {
      this.log.warn({ err, dir: this.dir }, "cannot watch the host folder; reload with SIGHUP");
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}
