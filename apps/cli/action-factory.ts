import type { Command } from 'commander';
import type { CliSession } from './cli-session.js';
import { openSession } from './cli-session.js';
import type { GlobalOptions } from './global-options.js';

/**
 * Wraps a command's work into a commander action: opens a session from the root command's global options, runs,
 * closes the connection. (The root's options are read from the root itself: `optsWithGlobals()` would let a
 * global `-t` override a command's own `-t`.)
 */
export type ActionFactory = <O>(
  run: (session: CliSession, options: O) => Promise<void>,
) => (options: O) => Promise<void>;

export function actionFactory(
  root: Command,
  signal: AbortSignal,
  write: (text: string) => void,
  note: (text: string) => void,
): ActionFactory {
  return (run) => async (options) => {
    const session = openSession(root.opts<GlobalOptions>(), signal, write, note);
    try {
      await run(session, options);
    } finally {
      session.client.close();
    }
  };
}
