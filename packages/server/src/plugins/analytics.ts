import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { pageArray, pageQuery } from '../http/pagination.js';
import { costShape, insightShape } from '../http/responses.js';
import { page } from '../http/shapes.js';

// Costs, insights, anomalies and alerts from the monitor, limited to the workflows the caller can read.

const costQuery = z.object({
  from: z.coerce.number().int().min(0).optional(),
  to: z.coerce.number().int().min(0).optional(),
  workflowId: z.string().max(200).optional(),
});
const insightQuery = pageQuery.extend({
  workflowId: z.string().max(200).optional(),
  executionId: z.string().max(200).optional(),
});

export const analyticsRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const { monitor } = ctx.o;
  const visibleTo = (req: FastifyRequest) => ctx.roles.visible(req.auth.user);

  app.get(
    '/api/analytics/costs',
    { schema: { tags: ['analytics'], querystring: costQuery, response: { 200: costShape } } },
    async (req) => {
      const q = req.query as z.output<typeof costQuery>;
      const visible = await visibleTo(req);
      if (!visible) return monitor.costs(q);
      if (q.workflowId)
        return visible.has(q.workflowId) ? monitor.costs(q) : monitor.costs({ ...q, workflowId: '\u0000none' });
      // A member: the sum over the workflows they can read.
      const parts = [...visible].map((workflowId) => monitor.costs({ ...q, workflowId }));
      const merged = monitor.costs({ ...q, workflowId: '\u0000none' });
      for (const p of parts) {
        merged.total += p.total;
        merged.calls += p.calls;
        merged.inputTokens += p.inputTokens;
        merged.outputTokens += p.outputTokens;
        merged.byModel.push(...p.byModel);
        merged.byTask.push(...p.byTask);
        merged.byAgent.push(...p.byAgent);
        merged.byWorkflow.push(...p.byWorkflow);
      }
      merged.byModel = mergeLines(merged.byModel);
      merged.byAgent = mergeLines(merged.byAgent);
      return merged;
    },
  );

  app.get(
    '/api/analytics/insights',
    { schema: { tags: ['analytics'], querystring: insightQuery, response: { 200: page(insightShape) } } },
    async (req) => {
      const q = req.query as z.output<typeof insightQuery>;
      const visible = await visibleTo(req);
      const all = monitor
        .insights({ workflowId: q.workflowId, executionId: q.executionId })
        .filter((i) => !visible || (i.workflowId !== undefined && visible.has(i.workflowId)))
        .sort((a, b) => b.timestamp - a.timestamp);
      return pageArray(all, q.limit, q.cursor);
    },
  );

  // Anomalies and alerts are about the process (durations, resources), not one workflow: any user may read them.
  app.get(
    '/api/analytics/anomalies',
    { schema: { tags: ['analytics'], querystring: pageQuery, response: { 200: page(insightShape) } } },
    async (req) => {
      const q = req.query as z.output<typeof pageQuery>;
      return pageArray(
        [...monitor.anomalies()].sort((a, b) => b.timestamp - a.timestamp),
        q.limit,
        q.cursor,
      );
    },
  );

  app.get(
    '/api/analytics/alerts',
    { schema: { tags: ['analytics'], querystring: pageQuery, response: { 200: page(insightShape) } } },
    async (req) => {
      const q = req.query as z.output<typeof pageQuery>;
      return pageArray(
        [...monitor.alerts()].sort((a, b) => b.timestamp - a.timestamp),
        q.limit,
        q.cursor,
      );
    },
  );
};

function mergeLines<T extends { key: string; cost: number; calls: number; inputTokens: number; outputTokens: number }>(
  lines: T[],
): T[] {
  const m = new Map<string, T>();
  for (const l of lines) {
    const cur = m.get(l.key);
    if (!cur) m.set(l.key, { ...l });
    else {
      cur.cost += l.cost;
      cur.calls += l.calls;
      cur.inputTokens += l.inputTokens;
      cur.outputTokens += l.outputTokens;
    }
  }
  return [...m.values()].sort((a, b) => b.cost - a.cost);
}
