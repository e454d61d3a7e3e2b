// The research example's `fetch` tool as a small MCP server (stdio), written with the official MCP SDK.
// Pages the search stub knows (https://example.org/…) come from a local corpus so the example runs offline;
// any other http(s) URL is fetched for real, with a short timeout, and cut to 4 000 characters.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { CORPUS } from './corpus.mjs';

const server = new McpServer({ name: 'fetch', version: '1.0.0' });

server.registerTool(
  'fetch',
  {
    description: 'Fetch a web page and return its text',
    inputSchema: { url: z.string().describe('http(s) URL of the page') },
  },
  async ({ url }) => {
    const local = CORPUS.find((p) => p.url === url);
    if (local) return { content: [{ type: 'text', text: `${local.title}\n\n${local.text}` }] };
    if (!/^https?:\/\//.test(url)) return { isError: true, content: [{ type: 'text', text: `not an http(s) URL: ${url}` }] };
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const text = (await res.text()).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 4000);
      return { content: [{ type: 'text', text }] };
    } catch (err) {
      return { isError: true, content: [{ type: 'text', text: `could not fetch ${url}: ${err.message}` }] };
    }
  },
);

await server.connect(new StdioServerTransport());
