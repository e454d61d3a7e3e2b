import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { STATE_SCHEMA_VERSION, type StateStore } from '../../src/store/types.js';

/** Values JSON cannot carry; every store must give each back exactly (store/codec.ts). */
export function nonJsonValues(): Record<string, unknown> {
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  return {
    date: new Date('2026-01-02T03:04:05.678Z'),
    map: new Map<unknown, unknown>([
      ['k', 1],
      [2, { deep: new Set([1, 'x']) }],
    ]),
    set: new Set(['a', 'b']),
    big: 12345678901234567890n,
    undef: undefined,
    nested: { list: [undefined, null, Number.NaN, -0, Number.POSITIVE_INFINITY] },
    bytes: new Uint8Array([0, 1, 254, 255]),
    floats: new Float64Array([1.5, -2.25]),
    regexp: /a+b/gi,
    cyclic,
  };
}

/** The StateStore contract, run against every implementation. */
export function storeConformance(name: string, make: () => Promise<StateStore> | StateStore): void {
  describe(`StateStore conformance: ${name}`, () => {
    const header = (id: string, startedAt = 1000, workflowId = 'wf') => ({
      executionId: id,
      workflowId,
      status: 'running' as const,
      definition: { id: workflowId, name: 'n', tasks: [{ id: 'a', agentId: 'x' }] },
      input: { q: 1 },
      startedAt,
      schemaVersion: STATE_SCHEMA_VERSION,
    });

    it('saves and updates execution headers', async () => {
      const s = await make();
      await s.saveExecution(header('e1'));
      await s.saveExecution({ ...header('e1'), status: 'completed', finishedAt: 2000 });
      const got = await s.loadExecution('e1');
      expect(got?.header).toMatchObject({ executionId: 'e1', status: 'completed', finishedAt: 2000, input: { q: 1 } });
      expect(got?.header.definition).toEqual(header('e1').definition);
      expect(await s.loadExecution('missing')).toBeUndefined();
      await s.close();
    });

    it('folds transitions into the latest task state, keeping outputs, errors, usage', async () => {
      const s = await make();
      await s.saveExecution(header('e2'));
      await s.appendTransitions([
        { executionId: 'e2', taskKey: 'a', status: 'queued', attempt: 0, at: 1 },
        { executionId: 'e2', taskKey: 'a', status: 'running', attempt: 1, at: 2 },
        { executionId: 'e2', taskKey: 'a', status: 'retrying', attempt: 1, at: 3, error: { code: 'E', message: 'x' } },
        { executionId: 'e2', taskKey: 'a', status: 'running', attempt: 2, at: 4 },
      ]);
      await s.appendTransitions([
        {
          executionId: 'e2',
          taskKey: 'a',
          status: 'completed',
          attempt: 2,
          at: 5,
          output: { deep: [1, 'two', null] },
          usage: { inputTokens: 3, outputTokens: 4 },
          cost: 0.5,
        },
        { executionId: 'e2', taskKey: 'b', status: 'skipped', attempt: 0, at: 6 },
        { executionId: 'e2', taskKey: 'c', status: 'failed', attempt: 1, at: 7, error: { code: 'E', message: 'bad' } },
      ]);
      const got = (await s.loadExecution('e2'))!;
      expect(got.tasks.get('a')).toMatchObject({
        status: 'completed',
        attempts: 2,
        startedAt: 2,
        finishedAt: 5,
        output: { deep: [1, 'two', null] },
        usage: { inputTokens: 3, outputTokens: 4 },
        cost: 0.5,
      });
      expect(got.tasks.get('a')?.error).toBeUndefined();
      expect(got.tasks.get('b')?.status).toBe('skipped');
      expect(got.tasks.get('c')).toMatchObject({ status: 'failed', error: { message: 'bad' } });
      const hist = await s.history('e2');
      expect(hist.map((h) => h.status)).toEqual([
        'queued',
        'running',
        'retrying',
        'running',
        'completed',
        'skipped',
        'failed',
      ]);
      await s.close();
    });

    it('keeps executions apart and lists them newest first with filters', async () => {
      const s = await make();
      await s.saveExecution(header('x1', 1, 'wf-a'));
      await s.saveExecution(header('x2', 2, 'wf-b'));
      await s.saveExecution({ ...header('x3', 3, 'wf-a'), status: 'failed' });
      await s.appendTransitions([
        { executionId: 'x1', taskKey: 'a', status: 'completed', attempt: 1, at: 1, output: 1 },
        { executionId: 'x2', taskKey: 'a', status: 'completed', attempt: 1, at: 1, output: 2 },
      ]);
      expect((await s.loadExecution('x1'))!.tasks.get('a')?.output).toBe(1);
      expect((await s.loadExecution('x2'))!.tasks.get('a')?.output).toBe(2);
      expect((await s.listExecutions()).map((h) => h.executionId)).toEqual(['x3', 'x2', 'x1']);
      expect((await s.listExecutions({ workflowId: 'wf-a' })).map((h) => h.executionId)).toEqual(['x3', 'x1']);
      expect((await s.listExecutions({ status: 'failed' })).map((h) => h.executionId)).toEqual(['x3']);
      expect(await s.listExecutions({ limit: 1 })).toHaveLength(1);
      await s.close();
    });

    const lease = (owner: string, ms = 60_000) => ({ owner, expiresAt: Date.now() + ms });

    it('refuses to create an execution id that exists; a new run never appends to an old run', async () => {
      const s = await make();
      await s.createExecution(header('reuse'), lease('p1'));
      await s.appendTransitions([
        { executionId: 'reuse', taskKey: 'a', status: 'completed', attempt: 1, at: 1, output: 'old' },
      ]);
      await s.saveExecution({ ...header('reuse'), status: 'completed', finishedAt: 2 });
      await s.releaseLease('reuse', 'p1');
      const again = await Promise.resolve()
        .then(() => s.createExecution({ ...header('reuse'), input: { q: 2 } }, lease('p2')))
        .catch((e: unknown) => e);
      expect(again).toMatchObject({ code: ErrorCodes.EXECUTION_EXISTS, message: expect.stringContaining('reuse') });
      const got = (await s.loadExecution('reuse'))!;
      expect(got.header).toMatchObject({ status: 'completed', input: { q: 1 } });
      expect(await s.history('reuse')).toHaveLength(1);
      await s.close();
    });

    it('gives back Date, Map, Set, BigInt, undefined, typed arrays, RegExp and cycles exactly, in outputs and inputs', async () => {
      const s = await make();
      const value = nonJsonValues();
      await s.createExecution({ ...header('nj'), input: nonJsonValues() }, lease('p'));
      await s.appendTransitions([
        { executionId: 'nj', taskKey: 'a', status: 'completed', attempt: 1, at: 1, output: value },
        { executionId: 'nj', taskKey: 'b', status: 'completed', attempt: 1, at: 2, output: 7n },
        { executionId: 'nj', taskKey: 'c', status: 'completed', attempt: 1, at: 3, output: undefined },
      ]);
      const got = (await s.loadExecution('nj'))!;
      const out = got.tasks.get('a')!.output as Record<string, unknown>;
      expect(out).toEqual(value);
      expect(out.date).toBeInstanceOf(Date);
      expect(out.map).toBeInstanceOf(Map);
      expect(out.bytes).toBeInstanceOf(Uint8Array);
      expect(out.floats).toBeInstanceOf(Float64Array);
      expect(typeof out.big).toBe('bigint');
      expect('undef' in out).toBe(true);
      expect((out.cyclic as { self: unknown }).self).toBe(out.cyclic);
      expect(Object.is((out.nested as { list: unknown[] }).list[3], -0)).toBe(true);
      expect(got.tasks.get('b')!.output).toBe(7n);
      expect(got.tasks.get('c')!.status).toBe('completed');
      expect(got.tasks.get('c')!.output).toBeUndefined();
      expect(got.header.input).toEqual(nonJsonValues());
      expect((got.header.input as { date: unknown }).date).toBeInstanceOf(Date);
      // What comes back is a copy: changing it changes nothing stored.
      (out.map as Map<string, unknown>).set('k', 'changed');
      expect(
        ((await s.loadExecution('nj'))!.tasks.get('a')!.output as { map: Map<string, unknown> }).map.get('k'),
      ).toBe(1);
      expect((await s.history('nj'))[1].output).toBe(7n);
      await s.close();
    });

    it('refuses a value that cannot be stored with a typed error naming where it is, and keeps nothing of that batch', async () => {
      const s = await make();
      await s.createExecution(header('bad'), lease('p'));
      const err = await Promise.resolve()
        .then(() =>
          s.appendTransitions([
            { executionId: 'bad', taskKey: 'ok', status: 'completed', attempt: 1, at: 1, output: 1 },
            {
              executionId: 'bad',
              taskKey: 'fn',
              status: 'completed',
              attempt: 1,
              at: 2,
              output: { nested: { f: () => 1 } },
            },
          ]),
        )
        .catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: ErrorCodes.VALUE_NOT_SERIALIZABLE,
        message: expect.stringMatching(/output of task "fn".*\$\.nested\.f \(a function\)/),
      });
      expect(await s.history('bad')).toEqual([]);
      const badInput = await Promise.resolve()
        .then(() => s.createExecution({ ...header('bad-in'), input: { when: Symbol('x') } }, lease('p')))
        .catch((e: unknown) => e);
      expect(badInput).toMatchObject({
        code: ErrorCodes.VALUE_NOT_SERIALIZABLE,
        message: expect.stringContaining('$.when'),
      });
      await s.close();
    });

    it('stores a large output (8 MB) and a 2000-entry batch intact', async () => {
      const s = await make();
      await s.createExecution(header('big'), lease('p'));
      const large = { text: 'x'.repeat(4 * 1024 * 1024), bytes: new Uint8Array(4 * 1024 * 1024).fill(7) };
      await s.appendTransitions([
        { executionId: 'big', taskKey: 'large', status: 'completed', attempt: 1, at: 1, output: large },
      ]);
      await s.appendTransitions(
        Array.from({ length: 2000 }, (_, i) => ({
          executionId: 'big',
          taskKey: `t${i}`,
          status: 'completed' as const,
          attempt: 1,
          at: i,
          output: i,
        })),
      );
      const got = (await s.loadExecution('big'))!;
      const back = got.tasks.get('large')!.output as typeof large;
      expect(back.text.length).toBe(large.text.length);
      expect(back.bytes.length).toBe(large.bytes.length);
      expect(back.bytes[large.bytes.length - 1]).toBe(7);
      expect(got.tasks.size).toBe(2001);
      expect(got.tasks.get('t1999')!.output).toBe(1999);
      await s.close();
    });

    it('keeps every transition of concurrent appends to several executions, each in its order', async () => {
      const s = await make();
      const ids = ['c0', 'c1', 'c2'];
      for (const id of ids) await s.createExecution(header(id), lease('p'));
      const writes: Promise<void>[] = [];
      for (let round = 0; round < 40; round++) {
        for (const id of ids) {
          const batch = [0, 1].map((k) => ({
            executionId: id,
            taskKey: `r${round}`,
            status: k === 0 ? ('running' as const) : ('completed' as const),
            attempt: 1,
            at: round * 2 + k,
            output: k === 1 ? { id, round } : undefined,
          }));
          writes.push(Promise.resolve(s.appendTransitions(batch)));
        }
        // One batch spanning every execution as well.
        writes.push(
          Promise.resolve(
            s.appendTransitions(
              ids.map((id) => ({
                executionId: id,
                taskKey: `x${round}`,
                status: 'skipped' as const,
                attempt: 0,
                at: 1000 + round,
              })),
            ),
          ),
        );
      }
      await Promise.all(writes);
      for (const id of ids) {
        const hist = await s.history(id);
        expect(hist).toHaveLength(40 * 3);
        const mine = hist.filter((t) => t.taskKey.startsWith('r'));
        expect(mine.map((t) => t.at)).toEqual(Array.from({ length: 80 }, (_, i) => i));
        const got = (await s.loadExecution(id))!;
        expect(got.tasks.get('r39')!.output).toEqual({ id, round: 39 });
      }
      await s.close();
    });

    it("lets one owner hold an execution lease; a dead owner's run reads as interrupted and can be taken over", async () => {
      const s = await make();
      await s.createExecution(header('own'), lease('proc-a'));
      expect((await s.loadExecution('own'))!.header).toMatchObject({ status: 'running', lease: { owner: 'proc-a' } });
      // Another owner is refused and told who holds it; the holder renews.
      expect(await s.acquireLease('own', lease('proc-b'))).toMatchObject({ owner: 'proc-a' });
      expect(await s.acquireLease('own', lease('proc-a'))).toBeUndefined();
      // An owner known to be dead is replaced at once.
      expect(await s.acquireLease('own', lease('proc-c'), 'proc-a')).toBeUndefined();
      expect(await s.acquireLease('own', lease('proc-a'))).toMatchObject({ owner: 'proc-c' });
      // Releasing by someone else does nothing; by the holder frees it, and the run reads as interrupted.
      await s.releaseLease('own', 'proc-a');
      expect((await s.loadExecution('own'))!.header.status).toBe('running');
      await s.releaseLease('own', 'proc-c');
      expect((await s.loadExecution('own'))!.header.status).toBe('interrupted');
      expect((await s.listExecutions({ status: 'interrupted' })).map((h) => h.executionId)).toEqual(['own']);
      expect(await s.listExecutions({ status: 'running' })).toEqual([]);
      // A lease that was not renewed in time lapses the same way.
      const t0 = Date.now();
      expect(await s.acquireLease('own', lease('proc-d', 800))).toBeUndefined();
      expect((await s.loadExecution('own'))!.header.status).toBe('running');
      while ((await s.loadExecution('own'))!.header.status === 'running') await new Promise((r) => setTimeout(r, 25));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(790); // lapsed when its time was up, not before
      expect((await s.loadExecution('own'))!.header.status).toBe('interrupted');
      expect(await s.acquireLease('own', lease('proc-e'))).toBeUndefined();
      // A finished run is what it is, lease or not.
      await s.saveExecution({ ...header('own'), status: 'completed', finishedAt: 5 });
      expect((await s.loadExecution('own'))!.header.status).toBe('completed');
      // No lease can be taken on an execution that does not exist.
      expect(await s.acquireLease('nope', lease('proc-a'))).toBeUndefined();
      expect(await s.loadExecution('nope')).toBeUndefined();
      await s.close();
    });

    it('records paused and waiting runs as they are, with or without a live lease; lists filter by them', async () => {
      const s = await make();
      await s.createExecution(header('p1', 3000), lease('proc-a'));
      await s.createExecution(header('w1', 2000), lease('proc-a'));
      await s.createExecution(header('r1', 1000), lease('proc-a'));
      await s.saveExecution({ ...header('p1', 3000), status: 'paused' });
      await s.saveExecution({ ...header('w1', 2000), status: 'waiting' });
      expect((await s.loadExecution('p1'))!.header).toMatchObject({ status: 'paused', lease: { owner: 'proc-a' } });
      expect((await s.loadExecution('w1'))!.header).toMatchObject({ status: 'waiting', lease: { owner: 'proc-a' } });
      expect((await s.listExecutions({ status: 'paused' })).map((h) => h.executionId)).toEqual(['p1']);
      expect((await s.listExecutions({ status: 'waiting' })).map((h) => h.executionId)).toEqual(['w1']);
      expect((await s.listExecutions({ status: 'running' })).map((h) => h.executionId)).toEqual(['r1']);
      // Its process gone (lease released), a paused or waiting run keeps its status; only `running` reads as
      // interrupted. The header says no one drives it (no lease).
      for (const id of ['p1', 'w1', 'r1']) await s.releaseLease(id, 'proc-a');
      const p = (await s.loadExecution('p1'))!.header;
      expect(p.status).toBe('paused');
      expect(p.lease).toBeUndefined();
      expect((await s.loadExecution('w1'))!.header.status).toBe('waiting');
      expect((await s.loadExecution('r1'))!.header.status).toBe('interrupted');
      expect((await s.listExecutions({ status: 'paused' })).map((h) => h.executionId)).toEqual(['p1']);
      expect((await s.listExecutions({ status: 'waiting' })).map((h) => h.executionId)).toEqual(['w1']);
      // Resumed by another process, then running again and finished.
      expect(await s.acquireLease('w1', lease('proc-b'))).toBeUndefined();
      await s.saveExecution({ ...header('w1', 2000), status: 'running' });
      expect((await s.loadExecution('w1'))!.header).toMatchObject({ status: 'running', lease: { owner: 'proc-b' } });
      await s.saveExecution({ ...header('w1', 2000), status: 'completed', finishedAt: 2500 });
      expect(await s.listExecutions({ status: 'waiting' })).toEqual([]);
      await s.close();
    });

    it('resumes a finished execution: the header goes back to running and later transitions fold in', async () => {
      const s = await make();
      await s.createExecution(header('again'), lease('p'));
      await s.appendTransitions([
        { executionId: 'again', taskKey: 'a', status: 'failed', attempt: 1, at: 1, error: { code: 'E', message: 'x' } },
      ]);
      await s.saveExecution({
        ...header('again'),
        status: 'failed',
        finishedAt: 2,
        error: { code: 'E', message: 'x' },
      });
      await s.releaseLease('again', 'p');
      expect(await s.acquireLease('again', lease('q'))).toBeUndefined();
      await s.saveExecution(header('again'));
      await s.appendTransitions([
        { executionId: 'again', taskKey: 'a', status: 'completed', attempt: 2, at: 3, output: 'ok' },
      ]);
      const got = (await s.loadExecution('again'))!;
      expect(got.header).toMatchObject({ status: 'running' });
      expect(got.header.error).toBeUndefined();
      expect(got.tasks.get('a')).toMatchObject({ status: 'completed', output: 'ok', attempts: 2 });
      await s.close();
    });
  });
}
