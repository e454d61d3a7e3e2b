import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MultiAgentOrchestrator } from '../../src/index.js';
import type { WorkerHeartbeat } from '../../src/queue/bullmq/task-worker.js';
import { type FakeServer, startFakeOpenAI } from '../models/fake-servers/index.js';
import { newNs, orchestrator, type Proc, startWorker, waitFor } from './dist-helpers.js';
import { orchestratorOnly, toolAgents } from './fixtures/tool-agents.js';

const url = process.env.REDIS_URL;
const toolAgentsFile = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tool-agents.ts');

// Model-backed agents with tools and zod output schemas in distributed mode: they run on a worker that loaded the
// same agents module (its tools run there), and stay in the orchestrator when no worker has their code. The
// provider is a local server speaking OpenAI's wire format.
describe.skipIf(!url)(
  'model-backed agents with tools or zod schemas on workers (real Redis, OpenAI wire format)',
  () => {
    const ns = newNs();
    let fake: FakeServer;
    let worker: Proc;
    let o: MultiAgentOrchestrator;
    let redis: Redis;

    beforeAll(async () => {
      fake = await startFakeOpenAI({
        respond: (c) =>
          c.tools.includes('lookup') && c.toolResults.length === 0
            ? { toolCalls: [{ name: 'lookup', arguments: { q: 'the Nile' } }] }
            : { text: JSON.stringify({ answer: `from ${c.toolResults[0]?.content ?? 'memory'}` }) },
      });
      const dir = mkdtempSync(join(tmpdir(), 'cdx-own-'));
      const config = join(dir, 'codexos.yaml');
      writeFileSync(
        config,
        [
          'models:',
          '  defaultModel: gpt-4o-mini',
          '  providers:',
          `    openai: { baseURL: "${fake.url}/v1" }`,
          '  retry: { initialDelayMs: 1, maxDelayMs: 10 }',
          '',
        ].join('\n'),
      );
      // The worker loads the tool agents' module (and serves model-backed agents: --config).
      worker = await startWorker(url!, ns, ['--config', config, '--agents', toolAgentsFile], {
        OPENAI_API_KEY: 'sk-test-worker-key',
      });
      o = orchestrator(url!, ns, {
        store: { type: 'memory' },
        models: {
          defaultModel: 'gpt-4o-mini',
          providers: { openai: { baseURL: `${fake.url}/v1`, apiKey: 'sk-test-orchestrator-key' } },
          retry: { initialDelayMs: 1, maxDelayMs: 10 },
        },
      });
      for (const a of [...toolAgents, orchestratorOnly]) o.registerAgent(a);
      redis = new Redis(url!);
    }, 240_000);

    afterAll(async () => {
      redis?.disconnect();
      await o?.close();
      await worker?.kill();
      await fake?.close();
    });

    const toolRuns = async (executionId: string) =>
      (await redis.lrange(`cdx-tools:${executionId}`, 0, -1)).map((s) => Number(s.split('|')[1]));

    it('the worker advertises the agents whose code it has', async () => {
      const beat = await waitFor('a heartbeat', async () => {
        const all = Object.values(await redis.hgetall(`${ns}:dist:workers`));
        return all.length ? (JSON.parse(all[0]) as WorkerHeartbeat) : undefined;
      });
      expect(beat.own?.sort()).toEqual(['researcher', 'summariser']);
    });

    it('runs a tool-using agent with a zod schema on the worker: its tool runs there, the call is recorded here', async () => {
      const res = await o.executeWorkflow({
        id: 'own',
        name: 'own',
        tasks: [
          { id: 'find', agentId: 'researcher', input: { prompt: 'how long is the Nile' } },
          { id: 'sum', agentId: 'summariser', dependencies: ['find'], input: { prompt: 'sum it up' } },
        ],
      });
      expect(res.status).toBe('completed');
      // Parsed by the worker's zod schema; the tool result reached the model.
      expect(res.tasks.find.output).toEqual({ answer: 'from the Nile is long' });
      expect(res.tasks.sum.output).toEqual({ answer: 'from memory' });
      // The tool ran once, in the worker's process.
      expect(await toolRuns(res.executionId)).toEqual([worker.proc.pid]);
      // Its record is on the task as for a local call, with the attempt; usage measured on the worker.
      expect(res.tasks.find.toolCalls).toHaveLength(1);
      expect(res.tasks.find.toolCalls?.[0]).toMatchObject({ tool: 'lookup', status: 'completed', attempt: 1 });
      expect(res.tasks.find.toolCalls?.[0].arguments).toEqual({ q: 'the Nile' });
      expect(res.tasks.find.usage?.outputTokens).toBeGreaterThan(0);
      // Every call was the worker's (its key), none the orchestrator's.
      const keys = fake.requests.map((q) => q.headers.authorization);
      expect(keys.length).toBe(3);
      expect(keys.every((k) => k === 'Bearer sk-test-worker-key')).toBe(true);
    });

    it('keeps an agent no worker registered in the orchestrator', async () => {
      const before = fake.requests.length;
      const res = await o.executeWorkflow({
        id: 'local',
        name: 'local',
        tasks: [{ id: 'find', agentId: 'local-researcher', input: { prompt: 'how long is the Nile' } }],
      });
      expect(res.status).toBe('completed');
      expect(res.tasks.find.output).toEqual({ answer: 'from the Nile is long' });
      expect(await toolRuns(res.executionId)).toEqual([process.pid]);
      const keys = fake.requests.slice(before).map((q) => q.headers.authorization);
      expect(keys).toEqual(['Bearer sk-test-orchestrator-key', 'Bearer sk-test-orchestrator-key']);
    });
  },
);
