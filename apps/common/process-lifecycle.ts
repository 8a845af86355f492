import type { Logger } from '../../libs/core/src/index.js';
import { ConfigError } from '../../libs/config/src/index.js';

/**
 * Runs an app: start() brings it up; the first SIGINT/SIGTERM calls stop() (graceful), a second one forces exit.
 * A failed start prints one clear line and exits 1. Unhandled rejections are logged, never fatal to running jobs.
 */
export function runApp(name: string, start: () => Promise<{ logger: Logger; stop: () => Promise<void> }>): void {
  let stopping = false;
  start().then(
    ({ logger, stop }) => {
      const onSignal = (signal: NodeJS.Signals): void => {
        if (stopping) {
          logger.warn({ signal }, 'second signal: exiting now');
          process.exit(130);
        }
        stopping = true;
        logger.info({ signal }, 'shutting down');
        stop().then(
          () => {
            logger.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled rejection'));
    },
    (err: unknown) => {
      const message = err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err);
      process.stderr.write(`${name}: cannot start: ${message}\n`);
      process.exit(1);
    },
  );
}
