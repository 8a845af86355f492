import type { Command } from 'commander';
import { parseWholeNumber } from './option-parsers.js';

export interface PagingOptions {
  readonly limit?: number;
  readonly offset?: number;
}

/** Adds `-l/--limit` and `-o/--offset` (FindListRequest) to a list command. */
export function addPagingOptions(command: Command): Command {
  return command
    .option('-l, --limit <n>', 'at most this many records', parseWholeNumber)
    .option('-o, --offset <n>', 'skip this many records', parseWholeNumber);
}
