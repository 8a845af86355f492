export * from './runner.js';
export * from './builtin-runners.js';
export * from './command-runner.js';
export * from './runner-registry.js';
