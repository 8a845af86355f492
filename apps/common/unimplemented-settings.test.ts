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
    expect(warningsFor({ USE_GRPC_WEB: 'false' })).toEqual([]);
  });

  it('names each unimplemented setting in use, once', () => {
    const lines = warningsFor({ USE_GRPC_WEB: 'true' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^USE_GRPC_WEB is set but not implemented/);
  });

  it('says nothing of OTLP_ADDR, which is implemented (traces)', () => {
    expect(warningsFor({ OTLP_ADDR: 'http://collector:4318' })).toEqual([]);
  });
});
