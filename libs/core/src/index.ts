export * from './errors.js';
export * from './model.js';
export * from './retry.js';
export * from './ids.js';
export * from './schema.js';
export * from './worker-rules.js';
export * from './convert.js';
