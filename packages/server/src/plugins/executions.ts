import { type ExecutionHeader, SqliteStore } from '@codexos/multi-agent-orchestrator';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { detailFromResult, detailOf, type ExecutionSummary, summaryOf } from '../executions/view.js';
import { notFound } from '../http/errors.js';
import { decodeCursor, encodeCursor, pageQuery } from '../http/pagination.js';
import { cancelledShape, profileShape, transitionShape } from '../http/responses.js';
import { executionDetailShape, executionSummaryShape, liveEventShape, page } from '../http/shapes.js';
import { eventsFromHistory } from '../live/history.js';
import type { WorkflowRole } from '../types.js';
import { access } from './auth.js';

// Executions: start (optionally waiting for the end), list, read, cancel, resume, profile, history, events so far.

const execParams = z.object({ id: z.string().min(1).max(200) });
const startBody = z
  .object({
    workflowId: z.string().min(1).max(200),
    version: z.number().int().min(1).optional(),
    input: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
const startQuery = z.object({ wait: z.enum(['true', 'false', '1', '0']).optional() });
const listQuery = pageQuery.extend({
  workflowId: z.string().max(200).optional(),
  status: z
    .enum(['pending', 'running', 'paused', 'waiting', 'interrupted', 'completed', 'failed', 'cancelled'])
    .optional(),
});
const cancelBody = z
  .object({ reason: z.string().max(500).optional() })
  .strict()
  .default({});
const eventsQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
});

export const executionRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const { o, runner, hub } = ctx;

  /** Loads an execution the caller may see with at least `need`; 404 otherwise. */
  const load = async (req: FastifyRequest, id: string, need: WorkflowRole) => {
    const stored = await o.getExecution(id);
    if (!stored) throw notFound(`execution ${id}`);
    const meta = await runner.meta(id);
    try {
      await access(ctx, req, meta?.workflowId ?? stored.header.workflowId, need);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw notFound(`execution ${id}`);
      throw err;
    }
    return { stored, meta };
  };

  app.post(
    '/api/executions',
    {
      schema: {
        tags: ['executions'],
        body: startBody,
        querystring: startQuery,
        response: { 200: executionDetailShape, 202: executionSummaryShape },
      },
    },
    async (req, reply) => {
      const body = req.body as z.output<typeof startBody>;
      await access(ctx, req, body.workflowId, 'editor');
      const { meta, done } = await runner.start(body.workflowId, body.version, body.input, req.auth.user.id);
      const wait = (req.query as { wait?: string }).wait;
      if (wait === 'true' || wait === '1') {
        const result = await done;
        return reply.code(200).send(detailFromResult(result, meta, hub.lastSeq(meta.executionId)));
      }
      const summary: ExecutionSummary = {
        executionId: meta.executionId,
        workflowId: meta.workflowId,
        version: meta.version,
        status: 'running',
        startedAt: meta.startedAt,
        startedBy: meta.startedBy,
      };
      return reply.code(202).send(summary);
    },
  );

  app.get(
    '/api/executions',
    { schema: { tags: ['executions'], querystring: listQuery, response: { 200: page(executionSummaryShape) } } },
    async (req) => {
      const q = req.query as z.output<typeof listQuery>;
      const visible = await ctx.roles.visible(req.auth.user);
      if (q.workflowId && visible && !visible.has(q.workflowId)) return { items: [], nextCursor: null };
      const after = decodeCursor(q.cursor) as [number, string] | undefined;
      const headers = await listHeaders(ctx, { ...q, after, visible, limit: q.limit + 1 });
      const heads = headers.slice(0, q.limit);
      const pins = await runner.metas(heads.map((h) => h.executionId));
      const page = heads.map((h) => summaryOf(h, pins.get(h.executionId)));
      const last = page[page.length - 1];
      return {
        items: page,
        nextCursor: headers.length > q.limit && last ? encodeCursor([last.startedAt, last.executionId]) : null,
      };
    },
  );

  app.get(
    '/api/executions/:id',
    { schema: { tags: ['executions'], params: execParams, response: { 200: executionDetailShape } } },
    async (req) => {
      const { id } = req.params as { id: string };
      const { stored, meta } = await load(req, id, 'viewer');
      return detailOf(stored, meta, hub.lastSeq(id));
    },
  );

  app.post(
    '/api/executions/:id/cancel',
    { schema: { tags: ['executions'], params: execParams, body: cancelBody, response: { 200: cancelledShape } } },
    async (req) => {
      const { id } = req.params as { id: string };
      await load(req, id, 'editor');
      const reason = (req.body as { reason?: string } | undefined)?.reason ?? `cancelled by ${req.auth.user.id}`;
      return { executionId: id, cancelled: runner.cancel(id, reason) };
    },
  );

  app.post(
    '/api/executions/:id/resume',
    { schema: { tags: ['executions'], params: execParams, response: { 202: executionSummaryShape } } },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const { stored, meta } = await load(req, id, 'editor');
      if (!hub.has(id)) hub.seed(id, stored.header.workflowId, eventsFromHistory(stored.header, await o.history(id)));
      void runner.resume(id);
      return reply.code(202).send({ ...summaryOf(stored.header, meta), status: 'running' });
    },
  );

  app.get(
    '/api/executions/:id/profile',
    { schema: { tags: ['executions'], params: execParams, response: { 200: profileShape } } },
    async (req) => {
      const { id } = req.params as { id: string };
      await load(req, id, 'viewer');
      const profile = await o.monitor.profile(id);
      if (!profile) throw notFound(`profile of execution ${id} (it appears once the run has ended)`);
      return profile;
    },
  );

  app.get(
    '/api/executions/:id/history',
    {
      schema: {
        tags: ['executions'],
        params: execParams,
        querystring: pageQuery,
        response: { 200: page(transitionShape) },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      await load(req, id, 'viewer');
      const q = req.query as z.output<typeof pageQuery>;
      const start = Number(decodeCursor(q.cursor)?.[0] ?? 0) || 0;
      const all = await o.history(id);
      const items = all.slice(start, start + q.limit).map(({ output: _o, executionId: _e, ...t }) => t);
      const next = start + items.length;
      return { items, nextCursor: next < all.length ? encodeCursor([next]) : null };
    },
  );

  app.get(
    '/api/executions/:id/events',
    {
      schema: { tags: ['live'], params: execParams, querystring: eventsQuery, response: { 200: page(liveEventShape) } },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const { stored } = await load(req, id, 'viewer');
      const q = req.query as z.output<typeof eventsQuery>;
      if (!hub.has(id)) hub.seed(id, stored.header.workflowId, eventsFromHistory(stored.header, await o.history(id)));
      const items = hub.eventsAfter(id, q.after, q.limit) ?? [];
      const more = items.length === q.limit && hub.lastSeq(id) > items[items.length - 1].seq;
      return { items, nextCursor: more ? String(items[items.length - 1].seq) : null };
    },
  );
};

/** Headers newest first after (startedAt, id). SQLite: one indexed query; other stores: filtered in memory. */
async function listHeaders(
  ctx: ServerContext,
  q: {
    workflowId?: string;
    status?: string;
    visible?: Set<string>;
    after?: [number, string];
    limit: number;
  },
): Promise<ExecutionHeader[]> {
  // `interrupted` is decided by the store on read (a running run whose lease expired): ask the store for those.
  if (ctx.o.store instanceof SqliteStore && q.status !== 'running' && q.status !== 'interrupted') {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.workflowId) {
      where.push('workflow_id = ?');
      params.push(q.workflowId);
    }
    if (q.status) {
      where.push('status = ?');
      params.push(q.status);
    }
    if (q.visible) {
      where.push('workflow_id IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify([...q.visible]));
    }
    if (q.after) {
      where.push('(started_at, id) < (?, ?)');
      params.push(q.after[0], q.after[1]);
    }
    const sql = `SELECT id, workflow_id, status, started_at, finished_at, error FROM cdx_executions
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC LIMIT ?`;
    params.push(q.limit);
    const rows = ctx.o.store.db.prepare(sql).all(...params) as Array<{
      id: string;
      workflow_id: string;
      status: ExecutionHeader['status'];
      started_at: number;
      finished_at: number | null;
      error: string | null;
    }>;
    return rows.map((r) => ({
      executionId: r.id,
      workflowId: r.workflow_id,
      status: r.status,
      definition: undefined,
      input: undefined,
      startedAt: r.started_at,
      finishedAt: r.finished_at ?? undefined,
      error: r.error ? JSON.parse(r.error) : undefined,
      schemaVersion: 1,
    }));
  }
  const all = await ctx.o.listExecutions({ workflowId: q.workflowId, status: q.status as ExecutionHeader['status'] });
  return all
    .filter((h) => !q.visible || q.visible.has(h.workflowId))
    .sort((a, b) => b.startedAt - a.startedAt || (a.executionId < b.executionId ? 1 : -1))
    .filter((h) => !q.after || h.startedAt < q.after[0] || (h.startedAt === q.after[0] && h.executionId < q.after[1]))
    .slice(0, q.limit);
}
