import type { FastifyPluginAsync } from 'fastify';
import type { ServerContext } from '../context.js';
import { healthShape, notReadyShape, readyShape, textBody } from '../http/responses.js';
import { errorShape } from '../http/shapes.js';

// Liveness, readiness, and the monitor's Prometheus metrics.

export const healthRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  app.get(
    '/health',
    { schema: { tags: ['health'], summary: 'The process is up', response: { 200: healthShape } } },
    async () => ({
      status: 'ok',
      uptimeMs: Date.now() - ctx.startedAt,
    }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Ready to take work',
        response: { 200: readyShape, 503: notReadyShape },
      },
    },
    async (_req, reply) => {
      if (ctx.state.draining) return reply.code(503).send({ status: 'draining' });
      if (!ctx.state.ready) return reply.code(503).send({ status: 'starting' });
      return { status: 'ready', running: ctx.runner.runningCount };
    },
  );
};

export const metricsRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics',
        response: { 200: textBody('text/plain', 'Prometheus text exposition format'), 403: errorShape },
      },
    },
    async (req, reply) => {
      if (!ctx.options.publicMetrics && req.auth?.user.role !== 'admin')
        return reply.code(403).send({
          error: { code: 'CDX_ERR_FORBIDDEN', message: 'metrics need an admin token', requestId: String(req.id) },
        });
      return reply.type(ctx.o.monitor.metricsContentType).send(await ctx.o.monitor.metrics());
    },
  );
};
