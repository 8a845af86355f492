/**
 * The messages between a PluginThread (main side) and its worker thread (plugin-thread-main.ts), and how their bytes
 * are copied. A thread serves one request at a time, so replies need no ids: each `run` gets exactly one `done` or
 * `failed`.
 */
import type { FailureKind } from './runner.js';

/** A plugin's name and published schemas, read from its module in a thread. */
export interface PluginMetadata {
  readonly name: string;
  readonly runnerSettingsProto: string;
  readonly jobArgsProto: string;
  readonly resultOutputProto: string | undefined;
}

/** The thread's workerData. */
export interface PluginThreadData {
  /** file URL of the plugin module */
  readonly moduleUrl: string;
  /** the most bytes a run may return in all its items */
  readonly maxOutputBytes: number;
}

export type ToPluginThread =
  /** `settings` is set when the thread must load() them before running */
  | { readonly type: 'run'; readonly settings: Uint8Array | undefined; readonly args: Uint8Array }
  /** the running job was aborted: call cancel() and abort the run's signal */
  | { readonly type: 'cancel' };

export type FromPluginThread =
  | { readonly type: 'ready'; readonly metadata: PluginMetadata }
  /** the module cannot serve as a plugin (import failed, wrong shape); the thread ends */
  | { readonly type: 'unusable'; readonly message: string }
  | { readonly type: 'done'; readonly items: Uint8Array[] }
  | { readonly type: 'failed'; readonly phase: 'load' | 'run'; readonly message: string; readonly kind: FailureKind };

/**
 * The bytes of `view` in a buffer of their own. Posting a view copies its whole underlying buffer (a Buffer from
 * Node's 8 KiB pool, a slice of a gRPC frame), so what crosses between threads is compacted first.
 */
export function ownBytes(view: Uint8Array): Uint8Array {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : view.slice();
}
