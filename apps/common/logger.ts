import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { Config } from '../../libs/config/src/index.js';
import type { Logger } from '../../libs/core/src/index.js';

/**
 * The process logger from LOG_* settings: JSON (or pretty-less plain lines) to stdout and/or a file in LOG_FILE_DIR.
 * Keys that might hold secrets are redacted wherever they appear.
 */
export function createLogger(config: Config, app: string): Logger {
  const streams: pino.StreamEntry[] = [];
  if (config.log.stdout) streams.push({ stream: pino.destination({ fd: 1, sync: false }) });
  if (config.log.fileDir !== undefined) {
    mkdirSync(config.log.fileDir, { recursive: true });
    streams.push({ stream: pino.destination({ dest: join(config.log.fileDir, `${app}.log`), sync: false }) });
  }
  return pino(
    {
      level: config.log.level,
      base: { app, pid: process.pid },
      redact: { paths: ['password', '*.password', 'token', '*.token', 'authToken', '*.authToken', 'botToken'], censor: '[redacted]' },
      formatters: config.log.json ? {} : { level: (label) => ({ level: label }) },
    },
    streams.length === 0 ? pino.destination('/dev/null') : pino.multistream(streams),
  );
}
