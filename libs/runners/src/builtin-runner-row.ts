import type { Runner } from '../../core/src/index.js';
import { BUILTIN_RUNNERS } from './builtin-runners.js';

/** The published row (name, type, schemas) of built-in runner `id`; a missing row is a programming error. */
export function builtinRunnerRow(id: number): Runner {
  const row = BUILTIN_RUNNERS.find((runner) => runner.id === id);
  if (row === undefined) {
    throw new Error(`BUILTIN_RUNNERS has no row with id ${id}`);
  }
  return row;
}
