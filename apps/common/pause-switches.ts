/**
 * The pause switches of HTTP_REQUEST workers (settings `pause_switch`), kept in the RDB so they hold for every
 * process of the cluster and across restarts. A job whose switch is on waits in its runner, looking again every
 * `pollMs`, and is sent once the switch is off; the queue itself is not involved.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { PauseSwitches } from '../../libs/runners/src/index.js';
import type { Storage } from '../../libs/storage/src/index.js';

export function storagePauseSwitches(storage: Pick<Storage, 'switches'>, pollMs = 1000): PauseSwitches {
  return {
    async waitWhileOn(name, signal) {
      for (;;) {
        signal.throwIfAborted();
        let on: boolean;
        try {
          on = await storage.switches.isOn(name);
        } catch {
          // the RDB is out: not knowing whether the switch is on, wait and look again
          on = true;
        }
        if (!on) return;
        try {
          await sleep(pollMs, undefined, { signal });
        } catch {
          throw signal.reason;
        }
      }
    },
  };
}
