/** The process logger writes every line its LOG_LEVEL lets through, to a file in LOG_FILE_DIR here. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../libs/config/src/index.js';
import { createLogger } from './logger.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** The lines of the log file once one of them says `last` (the file is written asynchronously). */
async function linesUntil(file: string, last: string): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
    if (lines.some((l) => l.includes(last))) return lines;
    if (Date.now() > deadline) throw new Error(`no line "${last}" in ${file}:\n${lines.join('\n')}`);
    await sleep(20);
  }
}

function fileLogger(env: Record<string, string>): { logger: ReturnType<typeof createLogger>; file: string } {
  dir = mkdtempSync(join(tmpdir(), 'jw-logger-'));
  const config = loadConfig({ env: { LOG_FILE_DIR: dir, LOG_USE_STDOUT: 'false', ...env }, envFile: false });
  return { logger: createLogger(config, 'logger-test'), file: join(dir, 'logger-test.log') };
}

describe('createLogger', () => {
  it('LOG_LEVEL=debug: debug lines are written, as JSON lines with the fields', async () => {
    const { logger, file } = fileLogger({ LOG_LEVEL: 'debug' });
    logger.debug({ jobId: 7, worker: 'w', channel: 'c' }, 'a debug line');
    logger.info('the end');
    const records = (await linesUntil(file, 'the end')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records[0]).toMatchObject({ level: 20, msg: 'a debug line', jobId: 7, worker: 'w', channel: 'c' });
  });

  it('LOG_LEVEL=info: no debug line; LOG_USE_JSON=false writes plain lines with key=value fields', async () => {
    const { logger, file } = fileLogger({ LOG_LEVEL: 'info', LOG_USE_JSON: 'false' });
    expect(logger.isLevelEnabled?.('debug')).toBe(false);
    logger.debug({ jobId: 7 }, 'a debug line');
    logger.warn({ jobId: 8, worker: 'w', channel: 'c' }, 'the end');
    const lines = await linesUntil(file, 'the end');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\S+Z WARN the end jobId=8 worker=w channel=c$/);
  });
});
