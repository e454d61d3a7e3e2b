import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { McpManager } from '../../../src/models/mcp/manager.js';
import { ToolRegistry } from '../../../src/models/tools/registry.js';

// MCP over stdio and streamable HTTP against a small server written with the official SDK, run as a child process.
const SERVER = fileURLToPath(new URL('./fixture-server.mjs', import.meta.url));
const ctx = (signal = new AbortController().signal) => ({ signal, idempotencyKey: 'k', toolCallId: 'c', step: 1 });

let managers: McpManager[] = [];
let children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(managers.map((m) => m.close()));
  for (const c of children) c.kill();
  managers = [];
  children = [];
});

function manager(servers: ConstructorParameters<typeof McpManager>[0]) {
  const m = new McpManager(servers);
  managers.push(m);
  return m;
}

/** Starts the HTTP mode on `port` (0: any) and resolves its URL. */
function startHttp(port = 0): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [SERVER, 'http', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`fixture exited ${code}`)));
    child.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\S+)/.exec(d.toString());
      if (m) resolve({ url: m[1] as string, child });
    });
  });
}

describe('MCP over stdio', () => {
  it('lists tools as server/tool, validates nothing away, calls them (text and structured results)', async () => {
    const m = manager({ servers: { fx: { command: process.execPath, args: [SERVER, 'stdio'] } } });
    const reg = new ToolRegistry(m);
    const all = await reg.resolve(['fx/*']);
    expect(all.map((t) => t.name).sort()).toEqual([
      'fx/add',
      'fx/auth',
      'fx/crash',
      'fx/fail',
      'fx/fetch',
      'fx/whoami',
    ]);
    expect(all.find((t) => t.name === 'fx/add')?.wireName).toBe('fx__add');
    const [fetchTool] = await reg.resolve(['fx/fetch']);
    expect(fetchTool?.schema.json).toMatchObject({ type: 'object', properties: { url: { type: 'string' } } });
    expect(await fetchTool!.handler({ url: 'https://a.example' }, ctx())).toBe(
      'page at https://a.example: lorem ipsum',
    );
    const [add] = await reg.resolve(['fx/add']);
    expect(await add!.handler({ a: 2, b: 3 }, ctx())).toEqual({ sum: 5 });
    const [fail] = await reg.resolve(['fx/fail']);
    await expect(fail!.handler({}, ctx())).rejects.toMatchObject({
      code: 'CDX_ERR_MCP',
      message: /reported an error: the tool refused/,
    });
    await expect(reg.resolve(['fx/nope'])).rejects.toMatchObject({
      code: 'CDX_ERR_TOOL_UNKNOWN',
      message: /has no tool "nope"/,
    });
    await expect(reg.resolve(['other/*'])).rejects.toMatchObject({ code: 'CDX_ERR_TOOL_UNKNOWN' });
  });

  it('a server crash mid-call fails that call with a clear error; the next call restarts the server', async () => {
    const m = manager({ servers: { fx: { command: process.execPath, args: [SERVER, 'stdio'] } } });
    const reg = new ToolRegistry(m);
    const [whoami, crash] = await reg.resolve(['fx/whoami', 'fx/crash']);
    const pid1 = await whoami!.handler({}, ctx());
    await expect(crash!.handler({}, ctx())).rejects.toMatchObject({
      code: 'CDX_ERR_MCP',
      message: /MCP server "fx" tool "crash" failed: .*(closed|Connection)/i,
    });
    const [whoami2] = await reg.resolve(['fx/whoami']);
    const pid2 = await whoami2!.handler({}, ctx());
    expect(Number(pid2)).toBeGreaterThan(0);
    expect(pid2).not.toBe(pid1);
  });

  it('close() ends the child process', async () => {
    const m = manager({ servers: { fx: { command: process.execPath, args: [SERVER, 'stdio'] } } });
    const [whoami] = await new ToolRegistry(m).resolve(['fx/whoami']);
    const pid = Number(await whoami!.handler({}, ctx()));
    await m.close();
    await new Promise((r) => setTimeout(r, 200));
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(m.list('fx')).rejects.toMatchObject({ code: 'CDX_ERR_MCP' });
  });
});

describe('MCP over streamable HTTP', () => {
  it('calls tools with the configured headers and never shows the token in errors', async () => {
    const { url } = await startHttp();
    const m = manager({ servers: { web: { url, headers: { authorization: 'Bearer mcp-secret-token-123456' } } } });
    const [auth, fail] = await new ToolRegistry(m).resolve(['web/auth', 'web/fail']);
    expect(await auth!.handler({}, ctx())).toBe('authorised');
    const err = await Promise.resolve(fail!.handler({}, ctx())).catch((e: Error) => e);
    expect(JSON.stringify(err) + (err as Error).message).not.toContain('mcp-secret-token-123456');
  });

  it('reports a crashed HTTP server clearly and reconnects when it is back', async () => {
    const first = await startHttp();
    const port = Number(new URL(first.url).port);
    const m = manager({ servers: { web: { url: first.url } } });
    const [whoami, crash] = await new ToolRegistry(m).resolve(['web/whoami', 'web/crash']);
    const pid1 = await whoami!.handler({}, ctx());
    await expect(crash!.handler({}, ctx())).rejects.toMatchObject({
      code: 'CDX_ERR_MCP',
      message: /MCP server "web" tool "crash" failed/,
    });
    await expect(whoami!.handler({}, ctx())).rejects.toMatchObject({ code: 'CDX_ERR_MCP' });
    await startHttp(port);
    const pid2 = await whoami!.handler({}, ctx());
    expect(pid2).not.toBe(pid1);
  });
});
