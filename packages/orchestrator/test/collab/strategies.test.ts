import { afterEach, describe, expect, it } from 'vitest';
import { CollaborationManager } from '../../src/collab/index.js';
import type { StrategyName, UpdateInput } from '../../src/collab/types.js';
import { rng } from './helpers.js';

const managers: CollaborationManager[] = [];
afterEach(async () => {
  while (managers.length) await managers.pop()?.close();
});

async function run(strategy: StrategyName, ops: Array<[string, UpdateInput]>) {
  const m = new CollaborationManager({ conflictResolution: strategy, maxParticipants: 10 });
  managers.push(m);
  const s = await m.createSession('wf', 'owner');
  await m.applyUpdate(s.id, 'owner', {
    operation: { type: 'set' },
    path: ['tasks', 't'],
    value: { name: 'start', deps: ['a', 'b', 'c'] },
  });
  for (const u of ['u1', 'u2', 'u3']) await m.joinSession(s.id, u);
  for (const [u, op] of ops) await m.applyUpdate(s.id, u, op);
  return (await m.getDocument('wf')).tasks;
}

function shuffle<T>(xs: T[], r: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

describe('last-write-wins', () => {
  it('per-field result is independent of arrival order (HLC, node tie-break), 50 seeds', async () => {
    for (let seed = 1; seed <= 50; seed++) {
      const r = rng(seed);
      const ops: Array<[string, UpdateInput]> = [];
      for (let i = 0; i < 12; i++) {
        const u = `u${1 + Math.floor(r() * 3)}`;
        const wall = 1000 + Math.floor(r() * 5);
        const field = ['name', 'agentId', 'note'][Math.floor(r() * 3)];
        const del = r() < 0.2;
        const whole = r() < 0.1;
        ops.push([
          u,
          {
            operation: { type: del ? 'delete' : 'set' },
            path: whole ? ['tasks', 't'] : ['tasks', 't', field],
            value: whole ? { name: `${u}-whole` } : `${u}-${i}`,
            timestamp: { wall, logical: Math.floor(r() * 2), node: u },
          },
        ]);
      }
      const a = await run('last-write-wins', ops);
      const b = await run('last-write-wins', shuffle(ops, r));
      expect(b, `seed ${seed}`).toEqual(a);
    }
  });
});

describe('operational-transform', () => {
  it('transforms concurrent list ops against each other (inserts at one index keep both)', async () => {
    const tasks = await run('operational-transform', [
      ['u1', { operation: { type: 'insert' }, path: ['tasks', 't', 'deps', 0], value: 'x', baseVersion: 1 }],
      ['u2', { operation: { type: 'insert' }, path: ['tasks', 't', 'deps', 0], value: 'y', baseVersion: 1 }],
      ['u3', { operation: { type: 'delete' }, path: ['tasks', 't', 'deps', 2], baseVersion: 1 }],
    ]);
    // u3 deleted 'c' (index 2 at version 1), not whatever sits at index 2 now
    expect((tasks.t as { deps: string[] }).deps.sort()).toEqual(['a', 'b', 'x', 'y']);
  });

  it('two concurrent sets of one field: the same winner in either order, 30 seeds', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const ops: Array<[string, UpdateInput]> = [1, 2, 3].map((i) => [
        `u${i}`,
        {
          id: `op${i}`,
          operation: { type: 'set' },
          path: ['tasks', 't', 'name'],
          value: `v${i}-${seed}`,
          baseVersion: 1,
        },
      ]);
      const a = await run('operational-transform', ops);
      const b = await run('operational-transform', shuffle(ops, r));
      expect(b).toEqual(a);
      expect((a.t as { name: string }).name).toBe(`v3-${seed}`);
    }
  });

  it('a delete concurrent with an edit below it wins (the edit is dropped)', async () => {
    const tasks = await run('operational-transform', [
      ['u1', { operation: { type: 'delete' }, path: ['tasks', 't', 'deps'], baseVersion: 1 }],
      ['u2', { operation: { type: 'insert' }, path: ['tasks', 't', 'deps', 1], value: 'z', baseVersion: 1 }],
    ]);
    expect(tasks.t).toEqual({ name: 'start' });
  });
});

describe('custom', () => {
  it('uses the user function to rewrite or drop ops', async () => {
    const m = new CollaborationManager(
      { conflictResolution: 'custom' },
      { resolver: (op) => (op.path.at(-1) === 'secret' ? null : { ...op, value: String(op.value).toUpperCase() }) },
    );
    managers.push(m);
    const s = await m.createSession('wf', 'a');
    const r1 = await m.applyUpdate(s.id, 'a', {
      operation: { type: 'set' },
      path: ['tasks', 't', 'name'],
      value: 'hello',
    });
    const r2 = await m.applyUpdate(s.id, 'a', {
      operation: { type: 'set' },
      path: ['tasks', 't', 'secret'],
      value: 'x',
    });
    expect(r1.applied).toBe(true);
    expect(r2).toMatchObject({ applied: false, reason: expect.stringMatching(/superseded/) });
    expect((await m.getDocument('wf')).tasks).toEqual({ t: { name: 'HELLO' } });
  });

  it('a resolver that throws or returns a non-op refuses that update with a typed error; the session carries on', async () => {
    const m = new CollaborationManager(
      { conflictResolution: 'custom' },
      {
        resolver: (op) => {
          if (op.value === 'boom') throw new Error('resolver bug');
          if (op.value === 'junk') return { path: 'not a path' } as unknown as UpdateInput;
          return op;
        },
      },
    );
    managers.push(m);
    const s = await m.createSession('wf', 'a');
    const set = (value: string) =>
      m.applyUpdate(s.id, 'a', { operation: { type: 'set' }, path: ['tasks', 't', 'name'], value });
    await expect(set('boom')).rejects.toMatchObject({
      code: 'CDX_ERR_COLLAB',
      message: expect.stringMatching(/resolver threw: resolver bug/),
    });
    await expect(set('junk')).rejects.toMatchObject({
      code: 'CDX_ERR_COLLAB',
      message: expect.stringMatching(/invalid op #0/),
    });
    expect((await set('fine')).applied).toBe(true);
    expect((await m.getDocument('wf')).tasks).toEqual({ t: { name: 'fine' } });
  });

  it('without a resolver the custom strategy is refused with a clear error', async () => {
    const m = new CollaborationManager({ conflictResolution: 'custom' });
    managers.push(m);
    await expect(m.createSession('wf', 'a')).rejects.toThrow(/needs a resolver/);
  });
});
