import { describe, expect, it } from 'vitest';
import { RunnerType } from '../../core/src/index.js';
import { BUILTIN_RUNNERS, COMMAND_RUNNER_ID } from './builtin-runners.js';
import { CommandRunner } from './command-runner.js';
import { builtinRunnerDefinitions, RunnerRegistry } from './runner-registry.js';

describe('builtinRunnerDefinitions', () => {
  it('has COMMAND with the published row, creating CommandRunners', () => {
    const definitions = builtinRunnerDefinitions({ commandMaxOutputBytes: 10 });
    expect(definitions.map((definition) => definition.id)).toEqual([COMMAND_RUNNER_ID]);
    const [command] = definitions;
    const row = BUILTIN_RUNNERS.find((runner) => runner.id === COMMAND_RUNNER_ID);
    expect(command).toMatchObject({ ...row, name: 'COMMAND', type: RunnerType.COMMAND });
    expect(command!.create()).toBeInstanceOf(CommandRunner);
  });
});

describe('RunnerRegistry', () => {
  it('finds definitions by runner id and lists them in registration order', () => {
    const [command] = builtinRunnerDefinitions({ commandMaxOutputBytes: 10 });
    const plugin = { ...command!, id: 1000, name: 'HelloPlugin', type: RunnerType.PLUGIN };
    const registry = new RunnerRegistry([command!]);
    registry.register(plugin);
    expect(registry.get(COMMAND_RUNNER_ID)).toBe(command);
    expect(registry.get(1000)).toBe(plugin);
    expect(registry.get(2)).toBeUndefined();
    expect(registry.list()).toEqual([command, plugin]);
  });

  it('refuses a second definition with the same id', () => {
    const registry = new RunnerRegistry(builtinRunnerDefinitions({ commandMaxOutputBytes: 10 }));
    const [command] = registry.list();
    const duplicate = { ...command!, name: 'OTHER' };
    expect(() => registry.register(duplicate)).toThrow('runner id 1 is already registered (COMMAND)');
    expect(registry.get(COMMAND_RUNNER_ID)).toBe(command);
  });
});
