import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AgentDefinition, readWorkflowFile, SqliteStore } from '@codexos/multi-agent-orchestrator';
import { buildServer, type CodexServer } from './app.js';
import { TokenService } from './auth/tokens.js';
import { openServerDb } from './db.js';
import { redisServerStore, sqliteServerStore } from './store/index.js';
import { validateDefinition } from './workflows/definitions.js';

// `codexos serve`: one process with the orchestrator (SQLite under --data), the API, sockets, /metrics and the
// dashboard. First start: examples become workflows and an admin token is printed once (stored hashed).
// SIGINT/SIGTERM: stop taking runs, let running tasks finish for the grace period, cancel the rest as resumable
// (they resume on the next start), close sockets with 1001.

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

// The built dashboard: the installed `@codexos/dashboard` package when there is one (an npm install of the
// tarballs), else the workspace's packages/dashboard/dist.
function defaultDashboardDir(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@codexos/dashboard/package.json')), 'dist');
  } catch {
    return join(repoRoot, 'packages', 'dashboard', 'dist');
  }
}

export interface StartServerOptions {
  port?: number;
  host?: string;
  /** Data directory (SQLite state, monitor history, collaboration documents). Default `.codexos`. */
  data?: string;
  /**
   * Keep executions in Redis (`redis://…`) instead of SQLite; workflows, versions, users, tokens, roles and the
   * access audit then live in Redis too, so several servers on one Redis share them.
   */
  redis?: string;
  redisKeyPrefix?: string;
  /** Workflows loaded on first start (default: the repository's examples/). `false` loads none. */
  examples?: string | false;
  agents?: AgentDefinition[];
  /** Built dashboard (default packages/dashboard/dist), served at `/` when present. */
  dashboardDir?: string;
  corsOrigins?: string[];
  publicMetrics?: boolean;
  shutdownGraceMs?: number;
  logger?: boolean;
  /** Where the banner goes (default stdout). */
  out?: { write(s: string): unknown };
  /** Install SIGINT/SIGTERM handlers (default true). */
  handleSignals?: boolean;
}

export interface RunningServer {
  app: CodexServer;
  url: string;
  /** The first admin token, only on the first start of a data directory. */
  adminToken?: string;
  resumed: string[];
  /** Graceful stop (what the signal handlers do). */
  stop(reason?: string): Promise<void>;
}

export function dataPaths(data: string) {
  const dir = resolve(data);
  return { dir, state: join(dir, 'state.db'), monitor: join(dir, 'state.monitor.db'), server: join(dir, 'server.db') };
}

export async function startServer(opts: StartServerOptions = {}): Promise<RunningServer> {
  const out = opts.out ?? process.stdout;
  const paths = dataPaths(opts.data ?? '.codexos');
  mkdirSync(paths.dir, { recursive: true });
  const app = await buildServer({
    config: {
      store: opts.redis ? { type: 'redis', path: paths.state } : { type: 'sqlite', path: paths.state },
      ...(opts.redis ? { redis: { url: opts.redis, keyPrefix: opts.redisKeyPrefix ?? 'codexos' } } : {}),
      workflow: { maxTasks: 10_000, maxDepth: 1000 },
    },
    dbPath: paths.server,
    orchestratorOptions: {
      monitor: { historyPath: paths.monitor },
      collaboration: { storePath: join(paths.dir, 'state.collab.db') },
    },
    agents: opts.agents,
    dashboardDir: opts.dashboardDir ?? defaultDashboardDir(),
    corsOrigins: opts.corsOrigins,
    publicMetrics: opts.publicMetrics,
    shutdownGraceMs: opts.shutdownGraceMs,
    logger: opts.logger,
  });
  const ctx = app.codexos;
  ctx.state.ready = false;

  let adminToken: string | undefined;
  if (!(await ctx.store.meta.get('initialized'))) {
    adminToken = (await ctx.tokens.create('admin', 'admin', 'first admin token')).token;
    const dir = opts.examples === false ? undefined : (opts.examples ?? join(repoRoot, 'examples'));
    if (dir && existsSync(dir)) await loadExamples(app, dir, out);
    await ctx.store.meta.set('initialized', String(Date.now()));
  }

  const host = opts.host ?? '127.0.0.1';
  await app.listen({ port: opts.port ?? 4000, host });
  const port = (app.server.address() as { port: number }).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const resumed = await ctx.runner.resumeInterrupted();
  ctx.state.ready = true;

  // One write, so a reader of the banner sees it whole.
  let banner = `CodexOS server listening on ${url}\n`;
  banner += `  dashboard ${url}/   API ${url}/api   reference ${url}/api/docs   data ${paths.dir}\n`;
  if (adminToken)
    banner += `  first admin token (shown once, stored hashed; create more with \`codexos token create\`):\n  ${adminToken}\n`;
  if (resumed.length) banner += `  resumed ${resumed.length} interrupted run(s): ${resumed.join(', ')}\n`;
  out.write(banner);

  let stopping: Promise<void> | undefined;
  const stop = (reason = 'stop') => {
    stopping ??= (async () => {
      ctx.state.draining = true;
      const grace = opts.shutdownGraceMs ?? 10_000;
      out.write(`${reason}: finishing running tasks (up to ${grace} ms)\n`);
      const interrupted = await ctx.runner.drain(grace);
      if (interrupted.length) out.write(`  ${interrupted.length} run(s) will resume on the next start\n`);
      await app.close();
      out.write('stopped\n');
    })();
    return stopping;
  };
  if (opts.handleSignals ?? true) {
    const onSignal = (sig: NodeJS.Signals) => {
      stop(sig).then(
        () => process.exit(0),
        (err) => {
          process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
          process.exit(1);
        },
      );
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  return { app, url, adminToken, resumed, stop };
}

async function loadExamples(app: CodexServer, dir: string, out: { write(s: string): unknown }): Promise<void> {
  const ctx = app.codexos;
  for (const f of readdirSync(dir).sort()) {
    if (!/\.(ya?ml|json)$/i.test(f)) continue;
    try {
      const def = validateDefinition(ctx.o, await readWorkflowFile(join(dir, f)), f);
      if (await ctx.repo.get(def.id)) continue;
      await ctx.repo.save(def, 'admin', `loaded from examples/${f}`);
      await ctx.roles.set(def.id, 'admin', 'owner');
    } catch (err) {
      out.write(`  skipped examples/${f}: ${(err as Error).message}\n`);
    }
  }
}

/**
 * Token administration without starting the server: on a data directory's SQLite tables, or on Redis (`redis`,
 * with the server's key prefix) for a server started with `--redis`.
 */
export function openTokens(
  data: string,
  opts: { redis?: string; redisKeyPrefix?: string } = {},
): { tokens: TokenService; close(): Promise<void> } {
  if (opts.redis) {
    const store = redisServerStore(opts.redis, opts.redisKeyPrefix ?? 'codexos');
    return { tokens: new TokenService(store.users), close: () => store.close() };
  }
  const paths = dataPaths(data);
  // Servers before the Redis store kept their tables in server.db beside a Redis state store; else in state.db.
  if (existsSync(paths.server)) {
    const { db } = openServerDb({ kind: 'none' } as never, paths.server);
    return { tokens: new TokenService(sqliteServerStore(db).users), close: async () => void db.close() };
  }
  const store = new SqliteStore(paths.state);
  const { db } = openServerDb(store, ':memory:');
  return { tokens: new TokenService(sqliteServerStore(db).users), close: async () => store.close() };
}
