import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { notFound } from '../http/errors.js';
import { pageArray, pageQuery } from '../http/pagination.js';
import { agentShape } from '../http/responses.js';
import { page } from '../http/shapes.js';

// Registered agents and their pool state (handlers are code: never sent).

const idParams = z.object({ id: z.string().min(1).max(200) });

export const agentRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const view = (id: string) => {
    const a = ctx.o.agents.get(id);
    const pool = ctx.o.agentStats(id);
    return {
      id: a.id,
      name: a.name ?? a.id,
      description: (a as { description?: string }).description,
      instructions: a.instructions,
      model: a.model,
      tools: (a.tools ?? []).map((t) => (typeof t === 'string' ? t : (t as { name?: string }).name)),
      hasHandler: typeof a.handler === 'function',
      pool,
    };
  };

  app.get(
    '/api/agents',
    { schema: { tags: ['agents'], querystring: pageQuery, response: { 200: page(agentShape) } } },
    async (req) => {
      const q = req.query as z.output<typeof pageQuery>;
      const ids = ctx.o.agents
        .list()
        .map((a) => a.id)
        .sort();
      const page = pageArray(ids, q.limit, q.cursor);
      return { items: page.items.map(view), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/api/agents/:id',
    { schema: { tags: ['agents'], params: idParams, response: { 200: agentShape } } },
    async (req) => {
      const { id } = req.params as { id: string };
      if (!ctx.o.agents.has(id)) throw notFound(`agent ${id}`);
      return view(id);
    },
  );
};
