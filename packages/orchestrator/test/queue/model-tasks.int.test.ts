import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrchestratorEvents } from '../../src/events.js';
import type { MultiAgentOrchestrator } from '../../src/index.js';
import type { WorkerHeartbeat } from '../../src/queue/bullmq/task-worker.js';
import { type FakeServer, startFakeOpenAI } from '../models/fake-servers/index.js';
import { newNs, orchestrator, type Proc, startWorker, waitFor } from './dist-helpers.js';

const url = process.env.REDIS_URL;
const WINDOW_MS = 1500;
const RPM = 2;
/** A long answer: the provider streams it word by word. */
const LONG = Array.from({ length: 80 }, (_, i) => `w${i}`).join(' ');

// Model-backed agents (no code handler) in distributed mode: their calls are made on `codexos worker` processes
// started with the orchestrator's config file, against a local server speaking OpenAI's wire format, with the
// provider's rate limit shared by both workers through Redis.
describe.skipIf(!url)('model-backed tasks on two worker processes (real Redis, OpenAI wire-format server)', () => {
  const ns = newNs();
  let fake: FakeServer;
  let workers: Proc[] = [];
  let o: MultiAgentOrchestrator;

  beforeAll(async () => {
    fake = await startFakeOpenAI({
      reply: (prompt) => (prompt.includes('stream it') ? LONG : `noted: ${prompt.split('\n').at(-1)}`),
    });
    const dir = mkdtempSync(join(tmpdir(), 'cdx-models-'));
    const config = join(dir, 'codexos.yaml');
    writeFileSync(
      config,
      [
        'models:',
        '  defaultModel: gpt-4o-mini',
        '  providers:',
        `    openai: { baseURL: "${fake.url}/v1", rateLimit: { rpm: ${RPM} } }`,
        `  rateLimits: { windowMs: ${WINDOW_MS} }`,
        '  retry: { initialDelayMs: 1, maxDelayMs: 10 }',
        '',
      ].join('\n'),
    );
    // The key comes from each worker's environment, not from the file.
    const env = { OPENAI_API_KEY: 'sk-test-worker-key' };
    workers = await Promise.all(
      [0, 1].map(() => startWorker(url!, ns, ['--config', config, '--concurrency', '1'], env)),
    );
    o = orchestrator(url!, ns, { store: { type: 'memory' } });
    o.registerAgent({ id: 'writer', instructions: 'You write one line.' });
  }, 240_000);

  afterAll(async () => {
    await o?.close();
    await Promise.all(workers.map((w) => w.kill()));
    await fake?.close();
  });

  it('runs them on the workers, one rate limit for both, with upstream context and usage as in process', async () => {
    const r = new Redis(url!);
    const log = `${ns}:ratelimit:p:openai:log`;
    // Grants the shared limiter holds inside its window, sampled on Redis's clock while the run goes on.
    const inWindow = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      return redis.call('ZCOUNT', KEYS[1], '(' .. (now - tonumber(ARGV[1])), '+inf')`;
    const samples: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push(Number(await r.eval(inWindow, 1, log, WINDOW_MS)));
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    try {
      const topics = ['w0', 'w1', 'w2', 'w3', 'w4'];
      const res = await o.executeWorkflow({
        id: 'model-tasks',
        name: 'model tasks',
        tasks: [
          ...topics.map((id) => ({ id, agentId: 'writer', input: { prompt: `topic ${id}` } })),
          { id: 'edit', agentId: 'writer', dependencies: ['w0'], input: { prompt: 'tighten it' } },
        ],
      });
      expect(res.status).toBe('completed');
      for (const id of topics) expect(res.tasks[id].output).toBe(`noted: topic ${id}`);
      expect(res.tasks.edit.output).toBe('noted: tighten it');
      // The orchestrator rendered the upstream output into the call the worker made.
      const edit = fake.requests.find((q) => JSON.stringify(q.body).includes('tighten it'));
      expect(JSON.stringify(edit?.body)).toContain('noted: topic w0');
      expect(fake.requests.every((q) => q.headers.authorization === 'Bearer sk-test-worker-key')).toBe(true);
      expect(fake.served).toBe(6);
      // Usage measured on the workers is the tasks' usage.
      expect(res.tasks.w1.model).toBe('gpt-4o-mini');
      expect(res.tasks.w1.usage?.outputTokens).toBeGreaterThan(0);
    } finally {
      sampling = false;
      await sampler;
    }
    try {
      // One budget across both processes: never more than RPM grants in a window, and the limit was reached.
      expect(Math.max(...samples)).toBe(RPM);
      // Both processes took part (their heartbeats count what each completed).
      const served = await waitFor('both heartbeats count every task', async () => {
        const beats = Object.values(await r.hgetall(`${ns}:dist:workers`)).map((v) => JSON.parse(v) as WorkerHeartbeat);
        const n = beats.map((b) => b.agents.writer?.completed ?? 0);
        return n.reduce((a, b) => a + b, 0) === 6 ? n : undefined;
      });
      expect(served).toHaveLength(2);
      expect(served.every((n) => n > 0)).toBe(true);
      expect(served.reduce((a, b) => a + b, 0)).toBe(6);
    } finally {
      r.disconnect();
    }
  }, 240_000);

  it('relays the text a worker streams to the orchestrator as task:delta events, one Redis message per tick', async () => {
    const sub = new Redis(url!);
    let messages = 0;
    sub.on('message', (_ch: string, m: string) => {
      if (m.includes('"task:delta"')) messages++;
    });
    await sub.subscribe(`${ns}:dist:events`);
    const deltas: Array<OrchestratorEvents['task:delta']> = [];
    const onDelta = (d: OrchestratorEvents['task:delta']) => deltas.push(d);
    o.on('task:delta', onDelta);
    try {
      const res = await o.executeWorkflow({
        id: 'streamed',
        name: 'streamed',
        tasks: [{ id: 's', agentId: 'writer', input: { prompt: 'stream it' } }],
      });
      expect(res.status).toBe('completed');
      expect(res.tasks.s.output).toBe(LONG);
      // Every word reached the orchestrator's bus (the server and dashboard listen there), in order.
      await waitFor('every delta relayed', () => (deltas.map((d) => d.delta).join('') === LONG ? true : undefined));
      expect(deltas.map((d) => d.seq)).toEqual(deltas.map((_, i) => i));
      expect(deltas.every((d) => d.taskId === 's' && d.agentId === 'writer')).toBe(true);
      expect(deltas.every((d) => d.executionId === res.executionId)).toBe(true);
      // Coalesced on the worker: fewer events than streamed words, and never more Redis messages than events.
      const words = LONG.split(' ').length;
      expect(deltas.length).toBeLessThan(words);
      expect(messages).toBeGreaterThan(0);
      expect(messages).toBeLessThanOrEqual(deltas.length);
    } finally {
      o.off('task:delta', onDelta);
      sub.disconnect();
    }
  }, 240_000);
});
