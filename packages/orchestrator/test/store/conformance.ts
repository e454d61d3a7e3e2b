import { describe, expect, it } from 'vitest';
import { STATE_SCHEMA_VERSION, type StateStore } from '../../src/store/types.js';

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
  });
}
