import type { Command } from 'commander';
import { Option } from 'commander';

/** A hidden second name of an option: what it is given lands in the option it stands for. */
class AliasOption extends Option {
  constructor(
    flags: string,
    private readonly target: string,
  ) {
    super(flags);
    this.hideHelp();
  }

  override attributeName(): string {
    return this.target;
  }
}

/**
 * Adds `flags` (for example `--uniq-key <key>`) as another name of the option whose attribute is `target`
 * (`uniqueKey`), parsed by `parse`. It is not shown in the help; the option's description mentions it.
 */
export function addAlias(command: Command, flags: string, target: string, parse?: (value: string) => unknown): Command {
  const alias = new AliasOption(flags, target);
  if (parse !== undefined) alias.argParser(parse);
  return command.addOption(alias);
}
