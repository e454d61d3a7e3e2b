import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { normaliseSchema } from '../../../src/models/schema.js';
import { sampleFromSchema } from '../../../src/models/schema-sample.js';
import type { ToolDefinition } from '../../../src/models/types.js';
import { MultiAgentOrchestrator } from '../../../src/orchestrator.js';

// The offline `local` model with tools and schemas: deterministic, schema-valid, labelled; MCP tools from config.
const MCP_SERVER = fileURLToPath(new URL('../mcp/fixture-server.mjs', import.meta.url));
const open: MultiAgentOrchestrator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

function offline(config: ConstructorParameters<typeof MultiAgentOrchestrator>[0] = {}) {
  const o = new MultiAgentOrchestrator({ store: { type: 'memory' }, ...config });
  open.push(o);
  return o;
}

const FINDINGS = {
  type: 'object',
  properties: {
    topic: { type: 'string' },
    findings: {
      type: 'array',
      minItems: 2,
      maxItems: 4,
      items: {
        type: 'object',
        properties: {
          title: { type: 'string' },
          url: { type: 'string', format: 'uri' },
          score: { type: 'integer', minimum: 1, maximum: 5 },
        },
        required: ['title', 'url', 'score'],
      },
    },
    verdict: { enum: ['good', 'bad'] },
  },
  required: ['topic', 'findings', 'verdict'],
};

function tools(log: string[]): ToolDefinition[] {
  return [
    {
      name: 'search',
      description: 'Search',
      inputSchema: z.object({ q: z.string().min(1), limit: z.number().int().min(1).max(5) }),
      handler: async (a: { q: string }) => {
        log.push(`search:${a.q}`);
        return ['r1', 'r2'];
      },
    },
    {
      name: 'translate',
      description: 'Translate',
      inputSchema: z.object({ text: z.string() }),
      handler: async () => {
        log.push('translate');
        return 'hola';
      },
    },
  ];
}

describe('the local offline model', () => {
  it('calls each relevant tool once with schema-valid arguments, then answers a deterministic schema-valid value', async () => {
    const outputs: unknown[] = [];
    for (let run = 0; run < 2; run++) {
      const log: string[] = [];
      const o = offline();
      o.registerAgent({ id: 'r', tools: tools(log), output: { schema: FINDINGS } });
      const r = await o.executeWorkflow({
        id: 'w',
        name: 'w',
        tasks: [{ id: 't', agentId: 'r', input: { prompt: 'Use search to research rivers' } }],
      });
      expect(r.status).toBe('completed');
      // Only `search` is named in the prompt, so only it is called, once.
      expect(log).toHaveLength(1);
      expect(log[0]).toMatch(/^search:/);
      expect(r.tasks.t?.toolCalls).toHaveLength(1);
      const out = r.tasks.t?.output as { topic: string; findings: Array<{ url: string }> };
      expect(normaliseSchema(FINDINGS).zod.safeParse(out).success).toBe(true);
      expect(out.topic).toMatch(/^\[local offline model\]/);
      expect(out.findings[0]?.url).toMatch(/^https:\/\/example\.org\//);
      outputs.push(out);
    }
    expect(outputs[1]).toEqual(outputs[0]);
  });

  it('calls every tool when none is named; a plain answer stays labelled and names the tools used', async () => {
    const log: string[] = [];
    const o = offline();
    o.registerAgent({ id: 'r', tools: tools(log) });
    const r = await o.executeWorkflow({
      id: 'w',
      name: 'w',
      tasks: [{ id: 't', agentId: 'r', input: { prompt: 'do the work' } }],
    });
    expect(log.sort()).toEqual([expect.stringMatching(/^search:/), 'translate']);
    expect(r.tasks.t?.output).toMatch(
      /^\[local offline model\] do the work after calling search, translate \(digest [0-9a-f]{8}\)$/,
    );
  });

  it('generated values conform for many schema shapes', () => {
    const shapes = [
      z.object({
        a: z.string().min(3).max(5),
        b: z.array(z.number().int().min(-3).max(3)).min(1),
        c: z.boolean().optional(),
      }),
      z.object({ when: z.iso.datetime(), mail: z.email(), kind: z.enum(['x', 'y']), n: z.number().gt(0).lt(1) }),
      z.object({
        nested: z.object({ deep: z.array(z.object({ id: z.uuid(), v: z.union([z.string(), z.number()]) })) }),
      }),
      z
        .array(z.object({ title: z.string() }))
        .min(2)
        .max(2),
    ];
    for (const s of shapes) {
      const n = normaliseSchema(s);
      for (let seed = 1; seed < 20; seed++) {
        const v = sampleFromSchema(n.json, { seed, words: ['river', 'delta'] });
        expect(n.zod.safeParse(v).success, JSON.stringify(v)).toBe(true);
      }
    }
  });

  it('uses MCP tools named in config (stdio), shares the connection, and closes it with the orchestrator', async () => {
    const o = offline({ mcp: { servers: { fx: { command: process.execPath, args: [MCP_SERVER, 'stdio'] } } } });
    o.registerAgent({ id: 'r', tools: ['fx/fetch', 'fx/add', 'fx/whoami'] });
    const r = await o.executeWorkflow({
      id: 'w',
      name: 'w',
      tasks: [
        { id: 'a', agentId: 'r', input: { prompt: 'fetch and add' } },
        { id: 'b', agentId: 'r', input: { prompt: 'whoami' } },
      ],
    });
    expect(r.status).toBe('completed');
    expect(r.tasks.a?.toolCalls?.map((c) => c.tool).sort()).toEqual(['fx/add', 'fx/fetch']);
    expect(r.tasks.a?.toolCalls?.every((c) => c.status === 'completed')).toBe(true);
    expect(r.tasks.a?.toolCalls?.find((c) => c.tool === 'fx/add')?.result).toEqual({ sum: expect.any(Number) });
    const pid = Number(r.tasks.b?.toolCalls?.[0]?.result);
    expect(pid).toBeGreaterThan(0);
    await o.close();
    await new Promise((res) => setTimeout(res, 200));
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
