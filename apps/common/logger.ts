import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { Config } from '../../libs/config/src/index.js';
import type { Logger } from '../../libs/core/src/index.js';

/**
 * The process logger from LOG_* settings: to stdout and/or a file in LOG_FILE_DIR, as JSON lines (LOG_USE_JSON=true)
 * or as plain `time LEVEL message key=value` lines. Keys that might hold secrets are redacted wherever they appear.
 */
export function createLogger(config: Config, app: string): Logger {
  const targets: pino.DestinationStream[] = [];
  if (config.log.stdout) targets.push(pino.destination({ fd: 1, sync: false }));
  if (config.log.fileDir !== undefined) {
    mkdirSync(config.log.fileDir, { recursive: true });
    targets.push(pino.destination({ dest: join(config.log.fileDir, `${app}.log`), sync: false }));
  }
  // every stream takes every line the logger writes (a multistream entry keeps only info and above unless told)
  const streams = targets.map((t) => ({ level: 'trace' as const, stream: config.log.json ? t : plainLines(t) }));
  return pino(
    {
      level: config.log.level,
      base: { app, pid: process.pid },
      redact: {
        paths: ['password', '*.password', 'token', '*.token', 'authToken', '*.authToken', 'botToken', '*.botToken'],
        censor: '[redacted]',
      },
    },
    streams.length === 0 ? pino.destination('/dev/null') : pino.multistream(streams),
  );
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Rewrites pino's JSON lines as `2026-01-01T00:00:00.000Z INFO message key=value ...`. */
function plainLines(target: pino.DestinationStream): pino.DestinationStream {
  return {
    write(line: string): void {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        target.write(line);
        return;
      }
      const { time, level, msg, pid: _pid, app: _app, ...rest } = record;
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      const when = typeof time === 'number' ? new Date(time).toISOString() : '';
      const label = typeof level === 'number' ? (LEVELS[level] ?? String(level)) : '';
      target.write(`${when} ${label} ${typeof msg === 'string' ? msg : ''}${fields === '' ? '' : ` ${fields}`}\n`);
    },
  };
}
