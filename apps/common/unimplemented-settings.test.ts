import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../libs/config/src/index.js';
import type { Logger } from '../../libs/core/src/index.js';
import { silentLogger } from '../../libs/core/src/index.js';
import { warnUnimplementedSettings } from './unimplemented-settings.js';

function warningsFor(env: Record<string, string>): string[] {
  const lines: string[] = [];
  const logger: Logger = {
    ...silentLogger,
    warn: (obj: object | string, msg?: string) => lines.push(typeof obj === 'string' ? obj : (msg ?? '')),
  };
  warnUnimplementedSettings(loadConfig({ env, envFile: false }), logger);
  return lines;
}

describe('warnUnimplementedSettings', () => {
  it('says nothing when no unimplemented setting is used', () => {
    expect(warningsFor({ USE_GRPC_WEB: 'true', HTTP_ADDR: '127.0.0.1:0' })).toEqual([]);
  });

  it('names each unimplemented setting in use, once', () => {
    const lines = warningsFor({ OTLP_ADDR: 'http://collector:4317' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^OTLP_ADDR is set but not implemented/);
  });
});
