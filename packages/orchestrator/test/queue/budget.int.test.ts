import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MultiAgentOrchestrator, WorkflowDefinition } from '../../src/index.js';
import { type FakeServer, startFakeOpenAI } from '../models/fake-servers/index.js';
import { newNs, orchestrator, type Proc, startWorker } from './dist-helpers.js';

const url = process.env.REDIS_URL;

/** Six model tasks in a chain, alternating between two agents that two different workers serve. */
const chain = (budget?: { maxTokens: number }): WorkflowDefinition => ({
  id: 'budgeted',
  name: 'budgeted',
  ...(budget ? { budget } : {}),
  tasks: Array.from({ length: 6 }, (_, i) => ({
    id: `t${i}`,
    agentId: i % 2 ? 'writer-b' : 'writer-a',
    dependencies: i ? [`t${i - 1}`] : [],
    input: { prompt: `write line ${i} of the poem` },
  })),
});

// A workflow's token budget in distributed mode: the calls of every worker count against it (a ledger in Redis),
// not only the calls of the process that makes the next one.
describe.skipIf(!url)('a workflow budget across two worker processes (real Redis, OpenAI wire format)', () => {
  const ns = newNs();
  let fake: FakeServer;
  let workers: Proc[] = [];
  let o: MultiAgentOrchestrator;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ reply: () => 'a line' });
    const dir = mkdtempSync(join(tmpdir(), 'cdx-budget-'));
    const config = join(dir, 'codexos.yaml');
    writeFileSync(
      config,
      ['models:', '  defaultModel: gpt-4o-mini', '  providers:', `    openai: { baseURL: "${fake.url}/v1" }`, ''].join(
        '\n',
      ),
    );
    const env = { OPENAI_API_KEY: 'sk-test-worker-key' };
    // Each worker serves one of the two agents, so the chain alternates between the processes.
    workers = await Promise.all(
      ['writer-a', 'writer-b'].map((a) => startWorker(url!, ns, ['--config', config, '--model-agents', a], env)),
    );
    o = orchestrator(url!, ns, { store: { type: 'memory' } });
    for (const id of ['writer-a', 'writer-b']) o.registerAgent({ id, instructions: 'Write one line.' });
  }, 240_000);

  afterAll(async () => {
    await o?.close();
    await Promise.all(workers.map((w) => w.kill()));
    await fake?.close();
  });

  it('stops the run once the calls of both workers together spend it', async () => {
    const tokens = (t: { usage?: { inputTokens: number; outputTokens: number } }) =>
      (t.usage?.inputTokens ?? 0) + (t.usage?.outputTokens ?? 0);
    // Unbudgeted, the six calls cost `total`; each worker makes three of them, about half.
    const free = await o.executeWorkflow(chain());
    expect(free.status).toBe('completed');
    const total = Object.values(free.tasks).reduce((s, t) => s + tokens(t), 0);
    expect(total).toBeGreaterThan(0);

    // A budget of 60%: more than either worker spends alone, less than both together.
    const maxTokens = Math.floor(total * 0.6);
    const res = await o.executeWorkflow(chain({ maxTokens }));
    expect(res.status).toBe('failed');
    const done = Object.values(res.tasks).filter((t) => t.status === 'completed');
    const refused = Object.values(res.tasks).filter((t) => t.error?.code === 'CDX_ERR_BUDGET_EXCEEDED');
    expect(refused).toHaveLength(1);
    expect(done.length).toBeGreaterThanOrEqual(2);
    expect(done.length).toBeLessThan(6);
    // The shared ledger holds exactly what the completed calls spent, and no call started past the budget.
    const spent = done.reduce((s, t) => s + tokens(t), 0);
    const r = new Redis(url!);
    try {
      expect(Number(await r.hget(`${ns}:budget:${res.executionId}`, 'tokens'))).toBe(spent);
    } finally {
      r.disconnect();
    }
    expect(spent).toBeLessThanOrEqual(maxTokens + Math.max(...done.map((t) => t.usage?.outputTokens ?? 0)));
    // Both workers made calls of this run before it stopped.
    expect(new Set(done.map((t) => t.agentId))).toEqual(new Set(['writer-a', 'writer-b']));
  }, 240_000);
});
