import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { z } from 'zod';
import { CodexError, ErrorCodes } from '../../errors.js';
import { Redactor } from '../redact.js';
import { normaliseSchema } from '../schema.js';
import type { ResolvedTool, ToolSource } from '../tools/registry.js';
import type { ModelLogger } from '../types.js';
import { type McpConfig, type McpConfigInput, type McpServerConfig, mcpConfigSchema } from './types.js';

interface Connection {
  client: Client;
  tools?: ResolvedTool[];
  closed: boolean;
}

const ANY_OBJECT = z.record(z.string(), z.unknown());

/**
 * MCP servers from config, connected on first use and shared by every agent and task. A connection that drops
 * (the server crashed, the network failed) is dropped and re-opened on the next use; the call that was in
 * flight fails with a clear error the model sees. `close()` ends every connection (and stdio child process).
 */
export class McpManager implements ToolSource {
  readonly config: McpConfig;
  private readonly live = new Map<string, Promise<Connection>>();
  private readonly redactor: Redactor;
  private closed = false;

  constructor(
    config: McpConfigInput | McpConfig | undefined,
    private readonly opts: { logger?: ModelLogger; redactor?: Redactor } = {},
  ) {
    this.config = mcpConfigSchema.parse(config ?? {});
    this.redactor = opts.redactor ?? new Redactor();
    // Header values (tokens) never reach errors or events.
    for (const s of Object.values(this.config.servers)) {
      if ('headers' in s)
        for (const v of Object.values(s.headers ?? {})) this.redactor.add(v.replace(/^Bearer\s+/i, ''));
    }
  }

  has(server: string): boolean {
    return Object.hasOwn(this.config.servers, server);
  }

  servers(): string[] {
    return Object.keys(this.config.servers);
  }

  /** The server's tools as `server/tool`, listed once per connection. */
  async list(server: string): Promise<ResolvedTool[]> {
    const conn = await this.connection(server);
    if (!conn.tools) {
      const res = await conn.client.listTools().catch((err) => {
        throw this.error(server, 'could not list its tools', err);
      });
      conn.tools = res.tools.map((t) => this.toTool(server, t));
    }
    return conn.tools;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.live.values()];
    this.live.clear();
    await Promise.allSettled(
      all.map(async (p) => {
        const c = await p;
        c.closed = true;
        await c.client.close();
      }),
    );
  }

  private toTool(server: string, t: { name: string; description?: string; inputSchema: Record<string, unknown> }) {
    let schema: ReturnType<typeof normaliseSchema>;
    try {
      schema = normaliseSchema(t.inputSchema, `input schema of MCP tool ${server}/${t.name}`);
    } catch {
      // A schema zod cannot express is still sent to the model; the server validates the arguments itself.
      schema = { json: t.inputSchema, zod: ANY_OBJECT };
    }
    const tool: ResolvedTool = {
      name: `${server}/${t.name}`,
      wireName: `${server}__${t.name}`,
      description: t.description,
      schema,
      handler: (args, ctx) => this.call(server, t.name, args as Record<string, unknown>, ctx.signal),
    };
    return tool;
  }

  private async call(server: string, tool: string, args: Record<string, unknown>, signal: AbortSignal) {
    const conn = await this.connection(server);
    let res: Awaited<ReturnType<Client['callTool']>>;
    try {
      res = await conn.client.callTool({ name: tool, arguments: args }, undefined, {
        signal,
        timeout: this.config.callTimeoutMs,
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err;
      // Drop the connection so the next use starts a fresh one (a crashed stdio server is restarted).
      this.drop(server, conn);
      throw this.error(server, `tool "${tool}" failed`, err);
    }
    const content = (res.content ?? []) as Array<{ type: string; text?: string }>;
    const text = content
      .filter((c) => c.type === 'text')
      .map((c) => c.text ?? '')
      .join('\n');
    if (res.isError) throw new CodexError(ErrorCodes.MCP, `MCP tool ${server}/${tool} reported an error: ${text}`);
    return res.structuredContent ?? text;
  }

  private connection(server: string): Promise<Connection> {
    if (this.closed) return Promise.reject(new CodexError(ErrorCodes.MCP, 'MCP connections are closed'));
    const cfg = this.config.servers[server];
    if (!cfg) return Promise.reject(new CodexError(ErrorCodes.MCP, `No MCP server "${server}" in mcp.servers`));
    let p = this.live.get(server);
    if (!p) {
      p = this.open(server, cfg);
      this.live.set(server, p);
      p.catch(() => {
        if (this.live.get(server) === p) this.live.delete(server);
      });
    }
    return p;
  }

  private async open(server: string, cfg: McpServerConfig): Promise<Connection> {
    // The SDK loads on first use: orchestrators without MCP servers never pay for it.
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const client = new Client({ name: 'codexos', version: '0.1.0' });
    const transport =
      'command' in cfg
        ? new (await import('@modelcontextprotocol/sdk/client/stdio.js')).StdioClientTransport({
            command: cfg.command,
            args: cfg.args,
            env: cfg.env ? { ...(process.env as Record<string, string>), ...cfg.env } : undefined,
            cwd: cfg.cwd,
            stderr: 'pipe',
          })
        : new (await import('@modelcontextprotocol/sdk/client/streamableHttp.js')).StreamableHTTPClientTransport(
            new URL(cfg.url),
            { requestInit: { headers: cfg.headers } },
          );
    const conn: Connection = { client, closed: false };
    client.onclose = () => {
      if (!conn.closed)
        this.opts.logger?.warn?.(`MCP server "${server}" closed the connection; reconnecting on next use`);
      this.drop(server, conn);
    };
    try {
      await client.connect(transport);
    } catch (err) {
      throw this.error(server, 'could not connect', err);
    }
    return conn;
  }

  private drop(server: string, conn: Connection): void {
    const p = this.live.get(server);
    if (!p) return;
    void p.then(
      (c) => {
        if (c !== conn) return;
        if (this.live.get(server) === p) this.live.delete(server);
        if (!conn.closed) {
          conn.closed = true;
          conn.client.close().catch(() => undefined);
        }
      },
      () => undefined,
    );
  }

  private error(server: string, what: string, err: unknown): CodexError {
    const msg = this.redactor.redact(String((err as Error)?.message ?? err));
    return new CodexError(ErrorCodes.MCP, `MCP server "${server}" ${what}: ${msg}`, { retryable: true });
  }
}
