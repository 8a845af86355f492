import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessInfo, ProcessRegistry } from '../ports.js';
import { ProcessPresence } from '../process-presence.js';

export interface ProcessRegistryFixture {
  /** a registry of the backend: every call of one fixture reaches the same entries (MemoryProcessRegistry: the same registry) */
  open(timeoutMs: number): ProcessRegistry;
  /** Closes what open() made and removes whatever they stored. */
  cleanup(): Promise<void>;
}

export type ProcessRegistryFactory = () => Promise<ProcessRegistryFixture>;

const info = (over: Partial<ProcessInfo> = {}): ProcessInfo => ({
  instanceId: randomUUID(),
  kind: 'worker',
  nodeId: 3,
  host: 'host-a',
  pid: 1234,
  startTime: 1_700_000_000_000,
  channels: [
    { name: '', concurrency: 4 },
    { name: 'heavy', concurrency: 1 },
  ],
  ...over,
});

/** The ProcessRegistry contract: every adapter must pass it. */
export function processRegistryContract(name: string, make: ProcessRegistryFactory): void {
  describe(`ProcessRegistry contract: ${name}`, () => {
    const fixtures: ProcessRegistryFixture[] = [];
    const open = async (timeoutMs: number): Promise<ProcessRegistry> => {
      const fixture = await make();
      fixtures.push(fixture);
      return fixture.open(timeoutMs);
    };
    afterEach(async () => {
      for (const fixture of fixtures.splice(0)) await fixture.cleanup();
    });

    it('lists the processes that beat, ordered by kind then start time, with their last heartbeat', async () => {
      const registry = await open(60_000);
      const worker = info({ startTime: 5 });
      const front = info({ kind: 'grpc-front', channels: [], startTime: 9, nodeId: 1 });
      const early = info({ startTime: 1, host: 'host-b' });
      const before = Date.now();
      for (const p of [worker, front, early]) await registry.heartbeat(p);
      const listed = await registry.list();
      expect(listed.map(({ lastHeartbeat: _, ...p }) => p)).toEqual([front, early, worker]);
      for (const p of listed) {
        expect(p.lastHeartbeat).toBeGreaterThanOrEqual(before - 1_000);
        expect(p.lastHeartbeat).toBeLessThanOrEqual(Date.now() + 1_000);
      }
      // a heartbeat replaces what the process told before
      await registry.heartbeat({ ...worker, nodeId: 7 });
      expect((await registry.list()).find((p) => p.instanceId === worker.instanceId)?.nodeId).toBe(7);
      expect(await registry.list()).toHaveLength(3);
    });

    it('drops a process at once when removed, and one whose heartbeat is older than the timeout', async () => {
      const registry = await open(400);
      const stays = info();
      const leaves = info();
      const dies = info();
      for (const p of [stays, leaves, dies]) await registry.heartbeat(p);
      await registry.remove(leaves.instanceId);
      await registry.remove('never-there');
      expect((await registry.list()).map((p) => p.instanceId).sort()).toEqual(
        [stays.instanceId, dies.instanceId].sort(),
      );
      // `stays` keeps beating, `dies` stopped
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline && (await registry.list()).length > 1) {
        await registry.heartbeat(stays);
        await sleep(100);
      }
      expect((await registry.list()).map((p) => p.instanceId)).toEqual([stays.instanceId]);
    });

    it('ProcessPresence beats while started and removes the entry on stop', async () => {
      const registry = await open(300);
      const me = info({ kind: 'all-in-one' });
      const presence = new ProcessPresence({ registry, info: () => me, intervalMs: 50 });
      await presence.start();
      // alive well past the timeout: the timer keeps beating
      await sleep(700);
      expect((await registry.list()).map((p) => p.instanceId)).toEqual([me.instanceId]);
      await presence.stop();
      expect(await registry.list()).toEqual([]);
      await presence.stop();
    });

    it('sees the processes another registry of the same backend records', async () => {
      const fixture = await make();
      fixtures.push(fixture);
      const a = fixture.open(60_000);
      const b = fixture.open(60_000);
      const p = info();
      await a.heartbeat(p);
      expect((await b.list()).map((listed) => listed.instanceId)).toEqual([p.instanceId]);
    });
  });
}
