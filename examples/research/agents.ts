// Agents and MCP servers for research.yaml:
//   codexos run examples/research/research.yaml --agents examples/research/agents.ts --memory
// `researcher` has a `search` tool (a local stub over a small corpus, shipped here) and the `fetch` tool of the
// MCP server in fetch-server.mjs. Offline, the built-in local model calls each tool once and answers a value that
// matches the task's output schema; with a provider key the same files run against the real model.
import { fileURLToPath } from 'node:url';
import type { AgentDefinition, McpConfigInput } from '@codexos/multi-agent-orchestrator';
import { z } from 'zod';
// @ts-expect-error: plain ES module shared with the MCP server
import { searchCorpus } from './corpus.mjs';

export const mcp: McpConfigInput = {
  servers: {
    web: { command: process.execPath, args: [fileURLToPath(new URL('./fetch-server.mjs', import.meta.url))] },
  },
};

export const agents: AgentDefinition[] = [
  {
    id: 'researcher',
    instructions:
      'You research a topic: call search, fetch the most relevant pages, then report findings with their URLs.',
    maxSteps: 6,
    tools: [
      {
        name: 'search',
        description: 'Search the web; returns [{ url, title }]',
        inputSchema: z.object({ query: z.string().min(1), limit: z.number().int().min(1).max(5).optional() }),
        handler: async ({ query, limit }: { query: string; limit?: number }) => searchCorpus(query, limit ?? 3),
      },
      'web/fetch',
    ],
  },
  { id: 'writer', instructions: 'You write short, clear paragraphs.' },
];

export default agents;
