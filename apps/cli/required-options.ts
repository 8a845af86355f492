import type { Command, Option } from 'commander';
import { UsageError } from './usage-error.js';

/**
 * Makes commander check required options after unknown ones: a misspelled flag (`--runer-id`) is then reported as
 * what it is, with a suggestion, instead of as the required option it failed to give. Every option declared with
 * `requiredOption` under `root` is checked before its command's action, naming its flags.
 */
export function checkRequiredAfterUnknown(root: Command): void {
  const required = new Map<Command, Option[]>();
  const visit = (cmd: Command): void => {
    const mandatory = cmd.options.filter((o) => o.mandatory);
    for (const o of mandatory) o.mandatory = false;
    if (mandatory.length > 0) required.set(cmd, mandatory);
    cmd.commands.forEach(visit);
  };
  visit(root);
  root.hook('preAction', (_root, action) => {
    const missing = (required.get(action) ?? []).find((o) => action.getOptionValue(o.attributeName()) === undefined);
    if (missing !== undefined) throw new UsageError(`required option '${missing.flags}' not specified`);
  });
}
