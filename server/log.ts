// The one logger type every server part takes (protocol servers, mirror,
// image store, HTTP app). pino's Logger is one as it is, so `serve` passes its
// own; tests pass silentLog or an object literal built on it.
export interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const drop = () => {};
/** A Log that writes nothing: the default where no logger is given. */
export const silentLog: Log = { info: drop, warn: drop, error: drop, debug: drop };
