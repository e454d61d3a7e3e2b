import { filter, map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { OrchestratorEvents } from '../../src/index.js';
import { makeOrchestrator, sleep } from './helpers.js';

// User callbacks (`on` listeners, `events$` subscribers, piped or not) that throw are reported as `error` events;
// they never end the process and never keep the event from the other listeners.

const def = { id: 'cb', name: 'cb', tasks: [{ id: 'a', agentId: 'echo' }] };

describe('guarded user callbacks', () => {
  it('a throwing events$ subscriber becomes an error event; the run and the process go on', async () => {
    const o = makeOrchestrator();
    const errors: OrchestratorEvents['error'][] = [];
    o.on('error', (e) => errors.push(e));
    let seen = 0;
    const sub = o.events$.subscribe((e) => {
      if (e.type === 'task:completed') {
        seen++;
        throw new Error('subscriber bug');
      }
    });
    const r = await o.executeWorkflow(def);
    await sleep(20); // RxJS reports unhandled subscriber errors on a timer: give it the chance
    expect(r.status).toBe('completed');
    expect(seen).toBe(1);
    expect(errors).toEqual([
      expect.objectContaining({
        source: 'subscriber',
        event: 'task:completed',
        error: expect.objectContaining({ message: 'subscriber bug' }),
      }),
    ]);
    // Still subscribed: the next run's event reaches it too.
    await o.executeWorkflow(def);
    await sleep(20);
    expect(seen).toBe(2);
    sub.unsubscribe();
    await o.close();
  });

  it('piped subscribers and throwing operators are guarded too', async () => {
    const o = makeOrchestrator();
    const errors: OrchestratorEvents['error'][] = [];
    o.on('error', (e) => errors.push(e));
    const s1 = o.events$.pipe(filter((e) => e.type === 'workflow:completed')).subscribe({
      next: () => {
        throw new Error('observer bug');
      },
    });
    const s2 = o.events$
      .pipe(
        map((e) => {
          if (e.type === 'task:started') throw new Error('operator bug');
          return e;
        }),
      )
      .subscribe(() => {});
    const r = await o.executeWorkflow(def);
    await sleep(20);
    expect(r.status).toBe('completed');
    expect(errors.map((e) => e.error.message).sort()).toEqual(['observer bug', 'operator bug']);
    s1.unsubscribe();
    s2.unsubscribe();
    await o.close();
  });

  it('a throwing on() listener does not keep the event from the listeners after it', async () => {
    const o = makeOrchestrator();
    const errors: OrchestratorEvents['error'][] = [];
    o.on('error', (e) => errors.push(e));
    const got: string[] = [];
    o.on('task:completed', () => {
      throw new Error('listener bug');
    });
    o.on('task:completed', (e) => got.push(e.taskId));
    const r = await o.executeWorkflow(def);
    expect(r.status).toBe('completed');
    expect(got).toEqual(['a']);
    expect(errors).toEqual([
      expect.objectContaining({
        source: 'listener',
        event: 'task:completed',
        error: expect.objectContaining({ message: 'listener bug' }),
      }),
    ]);
    await o.close();
  });

  it('off() removes a listener; a throwing error listener does not loop', async () => {
    const o = makeOrchestrator();
    let calls = 0;
    const l = () => {
      calls++;
    };
    o.on('task:completed', l);
    o.off('task:completed', l);
    let errorCalls = 0;
    o.on('error', () => {
      errorCalls++;
      throw new Error('error listener bug');
    });
    o.on('task:completed', () => {
      throw new Error('listener bug');
    });
    const r = await o.executeWorkflow(def);
    expect(r.status).toBe('completed');
    expect(calls).toBe(0);
    expect(errorCalls).toBe(1);
    await o.close();
  });
});
