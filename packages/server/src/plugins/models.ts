import { ModelManager } from '@codexos/multi-agent-orchestrator';
import type { FastifyPluginAsync } from 'fastify';
import type { z } from 'zod';
import type { ServerContext } from '../context.js';
import { pageArray, pageQuery } from '../http/pagination.js';
import { experimentShape, limitsShape, modelShape, usageShape } from '../http/responses.js';
import { page } from '../http/shapes.js';

// The model layer as data: catalog, usage, circuit/limit state, A/B results. Provider keys and base URLs are
// configuration and never appear here.

export const modelRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const mm = ctx.o.models instanceof ModelManager ? ctx.o.models : undefined;

  app.get(
    '/api/models',
    { schema: { tags: ['models'], querystring: pageQuery, response: { 200: page(modelShape) } } },
    async (req) => {
      const q = req.query as z.output<typeof pageQuery>;
      const list = (mm?.catalog.list() ?? []).map((m) => ({
        id: m.id,
        provider: m.provider,
        capabilities: m.capabilities,
        contextWindow: m.contextWindow,
        maxOutputTokens: m.maxOutputTokens,
        inputPricePerMTok: m.inputPricePerMTok,
        outputPricePerMTok: m.outputPricePerMTok,
        typicalLatencyMs: m.typicalLatencyMs,
        deprecated: m.deprecated,
        offline: m.offline,
        available: mm?.isAvailable(m.provider) ?? false,
      }));
      return pageArray(list, q.limit, q.cursor);
    },
  );

  app.get('/api/models/usage', { schema: { tags: ['models'], response: { 200: usageShape } } }, async () => ({
    totals: mm?.ledger.totals() ?? { calls: 0, inputTokens: 0, outputTokens: 0, cost: 0, estimatedCalls: 0 },
    byModel: mm?.ledger.models() ?? {},
  }));

  app.get('/api/models/limits', { schema: { tags: ['models'], response: { 200: limitsShape } } }, async () => {
    const providers = [...new Set((mm?.catalog.list() ?? []).map((m) => m.provider))].sort();
    return {
      providers: providers.map((id) => ({
        id,
        configured: !!mm?.provider(id),
        available: mm?.isAvailable(id) ?? false,
        circuit: mm?.circuitState(id) ?? null,
      })),
    };
  });

  app.get(
    '/api/models/experiments',
    { schema: { tags: ['models'], querystring: pageQuery, response: { 200: page(experimentShape) } } },
    async (req) => {
      const q = req.query as z.output<typeof pageQuery>;
      return pageArray(mm?.experiments.reports() ?? [], q.limit, q.cursor);
    },
  );
};
