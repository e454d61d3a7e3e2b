import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AgentDefinition,
  ErrorCodes,
  MultiAgentOrchestrator,
  type OrchestratorConfigInput,
  type OrchestratorOptions,
} from '@codexos/multi-agent-orchestrator';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { AccessAudit } from './auth/audit.js';
import { RoleService } from './auth/roles.js';
import { TokenService } from './auth/tokens.js';
import type { ServerContext } from './context.js';
import { openServerDb } from './db.js';
import { Runner } from './executions/runner.js';
import { ApiError, installErrorHandlers } from './http/errors.js';
import { installResponseDocs, installZodCompilers, jsonSchemaTransform } from './http/schema.js';
import { installSecurityHeaders } from './http/security-headers.js';
import { LiveHub } from './live/hub.js';
import { RemoteRuns, remoteTargetOf } from './live/remote.js';
import { agentRoutes } from './plugins/agents.js';
import { analyticsRoutes } from './plugins/analytics.js';
import { authRoutes, installAuth, tokenOf } from './plugins/auth.js';
import { collabRoutes } from './plugins/collab.js';
import { debugRoutes } from './plugins/debug.js';
import { eventRoutes } from './plugins/events.js';
import { executionRoutes } from './plugins/executions.js';
import { healthRoutes, metricsRoutes } from './plugins/health.js';
import { modelRoutes } from './plugins/models.js';
import { workflowRoutes } from './plugins/workflows.js';
import { serverStoreFor } from './store/index.js';
import { moveLocalPins } from './store/local-pins.js';
import type { ServerStore } from './store/types.js';
import type { ServerOptions } from './types.js';

export interface BuildServerOptions extends Omit<ServerOptions, 'orchestrator'> {
  /** An orchestrator to expose; without one the server builds its own from `config` and closes it on close. */
  orchestrator?: MultiAgentOrchestrator;
  config?: OrchestratorConfigInput;
  orchestratorOptions?: OrchestratorOptions;
  /** Agents with code handlers to register. */
  agents?: AgentDefinition[];
  /** Where workflows, users, tokens, roles and the audit live (default: beside the orchestrator's executions). */
  store?: ServerStore;
  /**
   * Stream runs other processes drive (events on Redis). Default: on when the orchestrator keeps its state in
   * Redis or runs in distributed mode.
   */
  remoteRuns?: boolean;
}

export type CodexServer = FastifyInstance & { codexos: ServerContext };

/** Builds the Fastify app (not listening): tests use `app.inject()`, `startServer` listens. */
export async function buildServer(opts: BuildServerOptions = {}): Promise<CodexServer> {
  const ownsOrchestrator = !opts.orchestrator;
  const o = opts.orchestrator ?? new MultiAgentOrchestrator(opts.config ?? {}, opts.orchestratorOptions);
  for (const a of opts.agents ?? []) if (!o.agents.has(a.id)) o.registerAgent(a);
  const { db, owned } = openServerDb(o.store, opts.dbPath ?? ':memory:');
  const store = opts.store ?? serverStoreFor(o, db);
  // Pins an earlier --redis server kept in its own file move to the shared store before any run is looked up.
  if (store.kind === 'redis' && owned) await moveLocalPins(db, store.runs);
  const hub = new LiveHub(o.bus);
  const remoteTarget = opts.remoteRuns === false ? undefined : remoteTargetOf(o);
  const repo = store.workflows;
  const options: ServerOptions = { ...opts, orchestrator: o };
  const ctx: ServerContext = {
    o,
    db,
    store,
    tokens: new TokenService(store.users, store.revocations),
    roles: new RoleService(store.roles),
    audit: new AccessAudit(store.audit),
    repo,
    runner: new Runner(o, store.runs, repo, opts.autoAgents ?? true, (err, what) =>
      app.log.error({ err }, `${what} failed`),
    ),
    hub,
    options,
    remote: remoteTarget && new RemoteRuns(hub, o.bus, remoteTarget),
    startedAt: Date.now(),
    state: { ready: true, draining: false },
  };

  const app = Fastify({
    // Tokens travel in `?token=` on sockets and SSE: request logs show URLs with the token redacted.
    logger: opts.logger
      ? {
          serializers: {
            req: (req) => ({
              method: req.method,
              url: req.url.replace(/([?&]token=)[^&]*/, '$1[redacted]'),
              id: req.id,
            }),
          },
        }
      : false,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    genReqId: requestIds(),
    routerOptions: { maxParamLength: 500 },
  }) as unknown as CodexServer;
  app.decorate('codexos', ctx);
  // Until subscribed, verified tokens are not cached, so a revoke elsewhere is never missed.
  ctx.tokens
    .listen((err) => app.log.error({ err }, 'token revocation announcements: Redis subscription error'))
    .catch((err) =>
      app.log.error(
        { err },
        'token revocations from other servers are not heard until Redis is back: the first Redis subscription failed',
      ),
    );
  ctx.remote?.ready.catch((err) =>
    app.log.error({ err }, 'runs driven by other processes will not stream: the Redis subscription failed'),
  );
  // Before @fastify/websocket's own preClose (which closes sockets without a code): watchers learn why.
  app.addHook('preClose', async () => {
    ctx.hub.closeAll(1001, 'server shutting down');
    for (const ws of app.websocketServer?.clients ?? []) ws.close(1001, 'server shutting down');
  });
  installZodCompilers(app);
  installResponseDocs(app);
  const known = new Map<string, Set<string>>();
  app.addHook('onRoute', (r) => {
    const methods = known.get(r.url) ?? new Set<string>();
    // CORS preflight answers OPTIONS on every path: it says nothing about which methods a path has.
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) if (m !== 'OPTIONS') methods.add(m);
    if (methods.size) known.set(r.url, methods);
  });
  installErrorHandlers(app, () => known);

  installSecurityHeaders(app);
  await app.register(cors, { origin: opts.corsOrigins?.length ? opts.corsOrigins : false, credentials: false });
  await app.register(rateLimit, {
    global: true,
    max: opts.rateLimit ?? 600,
    timeWindow: 60_000,
    keyGenerator: (req) => TokenService.idOf(tokenOf(req)) ?? req.ip,
    allowList: (req) => req.url === '/health' || req.url === '/ready',
    errorResponseBuilder: (_req, c) =>
      new ApiError(
        429,
        ErrorCodes.RATE_LIMITED,
        `rate limit of ${c.max} requests per minute reached; retry in ${c.after}`,
      ),
  });
  await app.register(websocket, { options: { maxPayload: 16 * 1024 * 1024, perMessageDeflate: false } });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'CodexOS API', version: '0.1.0', description: 'See packages/server/API.md' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform as never,
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true });
  installAuth(app, ctx);

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  for (const plugin of [
    healthRoutes,
    metricsRoutes,
    authRoutes,
    workflowRoutes,
    executionRoutes,
    eventRoutes,
    agentRoutes,
    modelRoutes,
    analyticsRoutes,
    collabRoutes,
    debugRoutes,
  ])
    await app.register(plugin, { ctx });

  const dashboard = opts.dashboardDir;
  if (dashboard && existsSync(join(dashboard, 'index.html'))) {
    await app.register(fastifyStatic, { root: dashboard, prefix: '/', wildcard: false, index: ['index.html'] });
    // The dashboard routes by URL hash (`/#/workflows/…`): only its files are served, and unknown paths keep
    // the JSON 404 of installErrorHandlers (a second not-found handler would throw at startup).
  } else
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><meta charset="utf-8"><title>CodexOS</title><h1>CodexOS server</h1>' +
            '<p>The dashboard is not built (<code>npm run build -w @codexos/dashboard</code>).</p>' +
            '<p>API reference: <a href="/api/docs">/api/docs</a> · OpenAPI: <a href="/api/openapi.json">/api/openapi.json</a>' +
            ' · health: <a href="/health">/health</a></p>',
        ),
    );

  app.addHook('onClose', async () => {
    ctx.remote?.close();
    ctx.tokens.stopListening();
    ctx.hub.dispose();
    if (!opts.store) await store.close();
    if (ownsOrchestrator) await o.close();
    if (owned) db.close();
  });
  return app;
}

function requestIds(): () => string {
  let n = 0;
  const prefix = Math.random().toString(36).slice(2, 6);
  return () => `req-${prefix}-${(++n).toString(36)}`;
}
