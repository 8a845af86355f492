/**
 * The messages between a PluginThread (main side) and its worker thread (plugin-thread-main.ts), how they travel
 * and how their bytes are copied. A thread runs many jobs at once, so every request names its job and every reply
 * the job it ends: each `run` gets exactly one `done` or `failed`, each `ping` one `pong`. Both sides post their
 * messages in batches, one postMessage per event-loop turn (see {@link batchedPoster}).
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
  /**
   * Runs a job on plugin instance `instance` of the thread (made on first use). The instance load()s `settings`
   * first unless it last loaded them for the same `owner` (a runner instance) with success.
   */
  | {
      readonly type: 'run';
      readonly job: number;
      readonly instance: number;
      readonly owner: number;
      readonly settings: Uint8Array;
      readonly args: Uint8Array;
    }
  /** the job was aborted: abort its signal and call its instance's cancel() */
  | { readonly type: 'cancel'; readonly job: number }
  /** answered at once by a thread whose event loop turns */
  | { readonly type: 'ping'; readonly id: number };

export type FromPluginThread =
  | { readonly type: 'ready'; readonly metadata: PluginMetadata }
  /** the module cannot serve as a plugin (import failed, wrong shape); the thread ends */
  | { readonly type: 'unusable'; readonly message: string }
  | { readonly type: 'done'; readonly job: number; readonly items: Uint8Array[] }
  | {
      readonly type: 'failed';
      readonly job: number;
      readonly phase: 'load' | 'run';
      readonly message: string;
      readonly kind: FailureKind;
    }
  | { readonly type: 'pong'; readonly id: number };

/**
 * A `send(message)` that gathers the messages of one event-loop turn and hands them to `post` as one array at the
 * next turn (setImmediate): one structured clone and one wake-up of the other thread per batch, not per message.
 */
export function batchedPoster<T>(post: (batch: T[]) => void): (message: T) => void {
  let batch: T[] | undefined;
  return (message) => {
    if (batch === undefined) {
      const pending: T[] = (batch = []);
      setImmediate(() => {
        batch = undefined;
        post(pending);
      });
    }
    batch.push(message);
  };
}

/**
 * The bytes of `view` in a buffer of their own. Posting a view copies its whole underlying buffer (a Buffer from
 * Node's 8 KiB pool, a slice of a gRPC frame), so what crosses between threads is compacted first.
 */
export function ownBytes(view: Uint8Array): Uint8Array {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : view.slice();
}
