// A small MCP server for the tests, written with the official SDK. Modes:
//   node fixture-server.mjs stdio
//   node fixture-server.mjs http <port>      (streamable HTTP, stateless; prints "listening <url>")
// Tools: fetch {url} → a canned page; add {a, b} → structured sum; crash {} → the process exits mid-call;
// whoami {} → the pid (to tell a restarted server from the first); secret {} → the auth header it got (HTTP).
import { createServer } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

function build(headers = {}) {
  const server = new McpServer({ name: 'fixture', version: '1.0.0' });
  server.registerTool(
    'fetch',
    { description: 'Fetch a page by URL', inputSchema: { url: z.string() } },
    async ({ url }) => ({ content: [{ type: 'text', text: `page at ${url}: lorem ipsum` }] }),
  );
  server.registerTool(
    'add',
    { description: 'Add two numbers', inputSchema: { a: z.number(), b: z.number() }, outputSchema: { sum: z.number() } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }),
  );
  server.registerTool('crash', { description: 'Exits the server mid-call', inputSchema: {} }, async () => {
    setTimeout(() => process.exit(3), 5);
    return new Promise(() => {});
  });
  server.registerTool('whoami', { description: 'The server pid', inputSchema: {} }, async () => ({
    content: [{ type: 'text', text: String(process.pid) }],
  }));
  server.registerTool('fail', { description: 'Always reports an error', inputSchema: {} }, async () => ({
    isError: true,
    content: [{ type: 'text', text: 'the tool refused' }],
  }));
  server.registerTool('auth', { description: 'Whether an auth header arrived', inputSchema: {} }, async () => ({
    content: [{ type: 'text', text: headers.authorization ? 'authorised' : 'anonymous' }],
  }));
  return server;
}

const [mode, port] = process.argv.slice(2);
if (mode === 'http') {
  const http = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
    const server = build(req.headers);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  });
  http.listen(Number(port ?? 0), '127.0.0.1', () => {
    process.stdout.write(`listening http://127.0.0.1:${http.address().port}/mcp\n`);
  });
} else {
  await build().connect(new StdioServerTransport());
}
