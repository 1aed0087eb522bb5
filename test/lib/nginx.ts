// nginx as the static-file peer of the benches: its own config file in the
// bench's folder (never the system service's), sendfile on, no access log.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface NginxSite {
  /** Where config, pid, error log and temp files go. */
  dir: string;
  /** "127.0.0.1:18001", "10.77.0.1:8080". */
  listen: string;
  root: string;
  /** worker_processes: "1" (one event loop, like node) or "auto" (its default deployment). */
  workers: string;
}

/** Writes the site's config; returns the arguments to run `nginx` in the foreground with it. */
export function nginxArgs(s: NginxSite): string[] {
  const tag = s.listen.replace(/[^0-9]/g, "-");
  const conf = join(s.dir, `nginx-${tag}.conf`);
  const errorLog = join(s.dir, "nginx-error.log");
  const tmp = join(s.dir, "ngt");
  writeFileSync(
    conf,
    `user root;\nworker_processes ${s.workers};\ndaemon off;\npid ${s.dir}/nginx-${tag}.pid;\n` +
      `error_log ${errorLog};\nevents { worker_connections 4096; }\n` +
      `http { access_log off; sendfile on; tcp_nopush on; default_type application/octet-stream;\n` +
      `  client_body_temp_path ${tmp}; proxy_temp_path ${tmp}; fastcgi_temp_path ${tmp};\n` +
      `  uwsgi_temp_path ${tmp}; scgi_temp_path ${tmp};\n` +
      `  server { listen ${s.listen}; root ${s.root}; } }\n`,
  );
  return ["-c", conf, "-e", errorLog];
}
