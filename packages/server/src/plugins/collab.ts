import { ErrorCodes } from '@codexos/multi-agent-orchestrator';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { ApiError, notFound } from '../http/errors.js';
import { pageArray, pageQuery } from '../http/pagination.js';
import {
  collabAuditShape,
  collabStateShape,
  documentShape,
  lockShape,
  noContent,
  savedShape,
  sessionShape,
} from '../http/responses.js';
import { page } from '../http/shapes.js';
import type { Definition } from '../store/types.js';
import type { WorkflowRole } from '../types.js';
import { validateDefinition } from '../workflows/definitions.js';
import { access } from './auth.js';

// Collaboration: the library's Yjs endpoint mounted at /collab/<workflowId> with the server's tokens and roles,
// plus sessions, participants, locks, the audit trail, and "save version" from the live document.

const idParams = z.object({ id: z.string().min(1).max(200) });
const wsParams = z.object({ workflowId: z.string().min(1).max(200) });
const lockParams = z.object({ id: z.string().min(1).max(200), taskId: z.string().min(1).max(200) });
const lockBody = z
  .object({ ttlMs: z.number().int().min(1000).max(3_600_000).optional() })
  .strict()
  .default({});
const auditQuery = pageQuery.extend({
  userId: z.string().max(100).optional(),
  from: z.coerce.number().int().min(0).optional(),
  to: z.coerce.number().int().min(0).optional(),
});
const snapshotBody = z
  .object({ message: z.string().max(1000).optional() })
  .strict()
  .default({});

export const collabRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const collab = () => ctx.o.collaboration;

  /** Seeds the live document from the current stored version the first time anyone opens it. */
  const ensureDocument = async (workflowId: string) => {
    const def = (await ctx.repo.version(workflowId))?.definition as Definition | undefined;
    if (def) await collab().seedDocument(workflowId, def as never);
  };

  /** The session of a workflow with the caller joined (created if none). */
  const joined = async (req: FastifyRequest, workflowId: string, role: WorkflowRole) => {
    await ensureDocument(workflowId);
    const info = await collab().createSession(workflowId, req.auth.user.id);
    await collab().joinSession(info.id, req.auth.user.id, { role });
    return collab().getSession(info.id);
  };

  app.get(
    '/collab/:workflowId',
    {
      websocket: true,
      schema: { hide: true, params: wsParams },
      preValidation: async (req) => {
        const { workflowId } = req.params as { workflowId: string };
        const role = await access(ctx, req, workflowId, 'viewer');
        (req as FastifyRequest & { collabRole?: WorkflowRole }).collabRole = role;
        await ensureDocument(workflowId);
      },
    },
    (socket, req) => {
      const { workflowId } = req.params as { workflowId: string };
      const role = (req as FastifyRequest & { collabRole: WorkflowRole }).collabRole;
      void collab().connect(socket, workflowId, { userId: req.auth.user.id, role });
    },
  );

  app.get(
    '/api/workflows/:id/collab',
    { schema: { tags: ['collab'], params: idParams, response: { 200: collabStateShape } } },
    async (req) => {
      const { id } = req.params as { id: string };
      await access(ctx, req, id, 'viewer');
      return { session: collab().activeSession(id) ?? null, locks: collab().getLocks(id) };
    },
  );

  app.post(
    '/api/workflows/:id/collab/session',
    { schema: { tags: ['collab'], params: idParams, response: { 200: sessionShape } } },
    async (req) => {
      const { id } = req.params as { id: string };
      const role = await access(ctx, req, id, 'viewer');
      return joined(req, id, role);
    },
  );

  app.get(
    '/api/workflows/:id/document',
    { schema: { tags: ['collab'], params: idParams, response: { 200: documentShape } } },
    async (req) => {
      const { id } = req.params as { id: string };
      await access(ctx, req, id, 'viewer');
      await ensureDocument(id);
      return collab().getDocument(id);
    },
  );

  app.post(
    '/api/workflows/:id/locks/:taskId',
    { schema: { tags: ['collab'], params: lockParams, body: lockBody, response: { 200: lockShape } } },
    async (req) => {
      const { id, taskId } = req.params as z.output<typeof lockParams>;
      const role = await access(ctx, req, id, 'editor');
      const session = await joined(req, id, role);
      const { ttlMs } = req.body as { ttlMs?: number };
      return collab().lockTask(session?.id as string, taskId, req.auth.user.id, ttlMs);
    },
  );

  app.delete(
    '/api/workflows/:id/locks/:taskId',
    { schema: { tags: ['collab'], params: lockParams, response: { 204: noContent } } },
    async (req, reply) => {
      const { id, taskId } = req.params as z.output<typeof lockParams>;
      await access(ctx, req, id, 'editor');
      const s = collab().activeSession(id);
      if (
        !s ||
        !collab()
          .getLocks(id)
          .some((l) => l.taskId === taskId && l.holder === req.auth.user.id)
      )
        throw notFound(`your lock on task ${taskId}`);
      collab().unlockTask(s.id, taskId, req.auth.user.id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/workflows/:id/audit',
    {
      schema: {
        tags: ['collab'],
        params: idParams,
        querystring: auditQuery,
        response: { 200: page(collabAuditShape) },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      await access(ctx, req, id, 'viewer');
      const q = req.query as z.output<typeof auditQuery>;
      const all = collab()
        .queryAudit({ workflowId: id, userId: q.userId, since: q.from })
        .filter((e) => q.to === undefined || e.at <= q.to)
        .reverse();
      return pageArray(all, q.limit, q.cursor);
    },
  );

  app.post(
    '/api/workflows/:id/snapshot',
    { schema: { tags: ['collab'], params: idParams, body: snapshotBody, response: { 200: savedShape } } },
    async (req) => {
      const { id } = req.params as { id: string };
      await access(ctx, req, id, 'editor');
      const current = (await ctx.repo.version(id))?.definition as Definition;
      await ensureDocument(id);
      const doc = await collab().getDocument(id);
      const def = definitionFromDocument(current, doc);
      const valid = validateDefinition(ctx.o, def, 'document');
      const msg = (req.body as { message?: string }).message ?? 'saved from the live document';
      const saved = await ctx.repo.save(valid, req.auth.user.id, msg);
      return {
        workflow: { ...saved.workflow, role: await ctx.roles.effective(id, req.auth.user) },
        version: { ...saved.version, definition: undefined },
      };
    },
  );
};

/** The stored definition with the document's tasks (stored order first, new tasks after) and name. */
export function definitionFromDocument(
  current: Definition,
  doc: { tasks: Record<string, unknown>; meta: Record<string, unknown> },
): Definition {
  const order = current.tasks.map((t) => (t as { id: string }).id);
  const ids = [
    ...order.filter((tid) => tid in doc.tasks),
    ...Object.keys(doc.tasks).filter((tid) => !order.includes(tid)),
  ];
  const tasks = ids.map((tid) => {
    const t: Record<string, unknown> = { ...(doc.tasks[tid] as Record<string, unknown>), id: tid };
    if (Array.isArray(t.dependencies) && t.dependencies.length === 0) {
      const was = current.tasks.find((x) => (x as { id: string }).id === tid) as { dependencies?: unknown } | undefined;
      if (!was?.dependencies) delete t.dependencies;
    }
    return t;
  });
  if (tasks.length === 0)
    throw new ApiError(400, ErrorCodes.WORKFLOW_INVALID, 'the live document has no tasks', { path: 'document.tasks' });
  const name = typeof doc.meta.name === 'string' ? doc.meta.name : current.name;
  return { ...current, name, tasks };
}
