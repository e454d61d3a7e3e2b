import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FakeServer, startFakeOpenAI } from '../../orchestrator/test/models/fake-servers/index.js';

// examples/research unchanged with a provider key: the CLI talks to an OpenAI-format server (real HTTP, the
// official SDK) whose model searches, fetches two of the pages found through the MCP server, and answers findings.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'packages', 'cli', 'bin', 'codexos.js');
let server: FakeServer;
beforeAll(async () => {
  server = await startFakeOpenAI({
    respond: (c) => {
      if (!c.tools.includes('search')) return { text: `paragraph about ${c.lastUser.split('(')[0]?.slice(-30)}` };
      if (c.toolResults.length === 0)
        return { toolCalls: [{ name: 'search', arguments: { query: 'structured output and MCP' } }] };
      const hits = JSON.parse(c.toolResults[0]!.content) as Array<{ url: string; title: string }>;
      if (c.toolResults.length === 1)
        return { toolCalls: hits.slice(0, 2).map((h) => ({ name: 'web__fetch', arguments: { url: h.url } })) };
      const findings = c.toolResults
        .slice(1)
        .map((r, i) => ({ title: r.content.split('\n')[0], url: hits[i]!.url, summary: r.content.split('\n').at(-1) }));
      return { text: JSON.stringify({ findings }) };
    },
  });
});
afterAll(() => server.close());

function run(): Promise<{ code: number | null; out: string; err: string }> {
  const args = [
    bin,
    'run',
    'examples/research/research.yaml',
    '--agents',
    'examples/research/agents.ts',
    '--memory',
    '--json',
  ];
  const env = {
    ...process.env,
    OPENAI_API_KEY: 'sk-test-research-0123456789',
    OPENAI_BASE_URL: `${server.url}/v1`,
    ANTHROPIC_API_KEY: '',
    GEMINI_API_KEY: '',
    GOOGLE_API_KEY: '',
  };
  const child = spawn(process.execPath, args, { cwd: root, env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

it('runs unchanged against a provider: search, two MCP fetches, findings from the pages, forEach over them', async () => {
  const r = await run();
  expect(r.code, r.err).toBe(0);
  const res = JSON.parse(r.out);
  expect(res.tasks.research.toolCalls.map((c: { tool: string }) => c.tool)).toEqual([
    'search',
    'web/fetch',
    'web/fetch',
  ]);
  // The findings are the two pages fetched (titles and text from the MCP server, URLs from the search results).
  expect(res.tasks.research.output.findings).toEqual([
    {
      title: 'Tool calling in LLM agents',
      url: 'https://example.org/agents/tool-calling',
      summary: expect.stringMatching(/^Models emit structured tool calls/),
    },
    {
      title: 'Structured output',
      url: 'https://example.org/agents/structured-output',
      summary: expect.stringMatching(/^Asking for JSON/),
    },
  ]);
  expect(res.tasks.research.toolCalls[1].arguments).toEqual({ url: 'https://example.org/agents/tool-calling' });
  expect(res.tasks.summarise.output).toHaveLength(2);
  for (const p of res.tasks.summarise.output) expect(p).toMatch(/^paragraph about /);
  expect(res.tasks.digest.output).toMatch(/^paragraph about /);
  // The first research request offered both tools and asked for the findings schema natively.
  const first = server.requests.find((q) => JSON.stringify(q.body).includes('search for sources'))?.body as {
    tools: Array<{ function: { name: string } }>;
    response_format: { type: string };
  };
  expect(first.tools.map((t) => t.function.name)).toEqual(['search', 'web__fetch']);
  expect(first.response_format.type).toBe('json_schema');
  expect(r.out + r.err).not.toContain('sk-test-research-0123456789');
}, 120_000);
