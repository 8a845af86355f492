/**
 * The logging surface libs depend on. Apps pass a pino logger, which fits this shape; tests may pass silentLogger.
 * Log objects never carry secrets (passwords, tokens, runner settings).
 */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  /** whether lines of `level` are written (pino has it); lets a caller skip building fields nobody reads */
  isLevelEnabled?(level: 'trace' | 'debug' | 'info' | 'warn' | 'error'): boolean;
}

const noop: LogFn = () => undefined;

export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
  isLevelEnabled: () => false,
};
