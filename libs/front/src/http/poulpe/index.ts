export { DEFAULT_TASK_RESP_SECONDS, PoulpeApi, startPoulpeApi } from './poulpe-api.js';
export type { PoulpeApiDeps } from './poulpe-api.js';
export { parseCc, parseMail, parseTask } from './task.js';
export type { PoulpeMail, PoulpeMethod, PoulpeTask } from './task.js';
