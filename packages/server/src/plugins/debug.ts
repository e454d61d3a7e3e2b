import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { notFound } from '../http/errors.js';
import {
  abortedShape,
  approvalsShape,
  debugSnapshotShape,
  debugStartedShape,
  decisionShape,
  inspectionShape,
  rerunShape,
  signalShape,
} from '../http/responses.js';
import type { WorkflowRole } from '../types.js';
import { access } from './auth.js';

// Debugging and waiting: breakpoints, pause/step/continue/abort, inspect, edit and pin, re-run from a task,
// approvals and signals. Editors and owners act; viewers read the debug state and the approvals inbox.

const execParams = z.object({ id: z.string().min(1).max(200) });
const taskParams = execParams.extend({ taskId: z.string().min(1).max(128) });
const waitParams = execParams.extend({ name: z.string().min(1).max(128) });
const breakpoint = z
  .object({
    taskId: z.string().min(1).max(128),
    when: z.enum(['before', 'after']).optional(),
    condition: z.string().max(2000).optional(),
  })
  .strict();
const debugOptions = z
  .object({ breakpoints: z.array(breakpoint).max(500).optional(), pauseOnFailure: z.boolean().optional() })
  .strict();
const breakpointsBody = z.object({ breakpoints: z.array(breakpoint).max(500) }).strict();
const editBody = z
  .object({ input: z.record(z.string(), z.unknown()).optional(), prompt: z.string().max(100_000).optional() })
  .strict()
  .refine((b) => b.input !== undefined || b.prompt !== undefined, 'give input and/or prompt');
const pinBody = z.object({ output: z.unknown() }).strict();
const inspectQuery = z.object({ taskId: z.string().min(1).max(128).optional() });
const decisionBody = z
  .object({ comment: z.string().max(5000).optional() })
  .strict()
  .default({});
const signalBody = z.object({ payload: z.unknown().optional() }).strict().default({});
const rerunBody = z
  .object({
    fromTaskId: z.string().min(1).max(128),
    input: z.record(z.string(), z.unknown()).optional(),
    prompt: z.string().max(100_000).optional(),
    agentId: z.string().min(1).max(128).optional(),
    /** Model requirements for the chosen task (checked with the workflow when the re-run is planned). */
    model: z.record(z.string(), z.unknown()).optional(),
    debug: debugOptions.optional(),
  })
  .strict();
const startBody = z
  .object({
    workflowId: z.string().min(1).max(200),
    version: z.number().int().min(1).optional(),
    input: z.record(z.string(), z.unknown()).optional(),
    debug: debugOptions,
  })
  .strict();

export const debugRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const { o, runner } = ctx;
  const dbg = o.debugger;

  /** Checks the caller's role on the run's workflow (404 when it may not see it); answers the role. */
  const guard = async (req: FastifyRequest, id: string, need: WorkflowRole): Promise<WorkflowRole> => {
    const stored = await o.getExecution(id);
    if (!stored) throw notFound(`execution ${id}`);
    const workflowId = (await runner.meta(id))?.workflowId ?? stored.header.workflowId;
    let role: WorkflowRole;
    try {
      role = await access(ctx, req, workflowId, need);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw notFound(`execution ${id}`);
      throw err;
    }
    // A run interrupted by a restart is taken up here (it comes back paused or waiting, as it was); a run another
    // live process drives stays there (signals reach it through the store).
    const { status, lease } = stored.header;
    const orphan = status === 'interrupted' || ((status === 'paused' || status === 'waiting') && !lease);
    if (orphan && !runner.isLive(id) && need !== 'viewer') void runner.resume(id);
    return role;
  };
  const by = (req: FastifyRequest) => req.auth.user.id;
  const tags = ['debug'];
  const snapshot = { 200: debugSnapshotShape };

  app.post(
    '/api/debug/runs',
    { schema: { tags, body: startBody, response: { 202: debugStartedShape } } },
    async (req, reply) => {
      const body = req.body as z.output<typeof startBody>;
      await access(ctx, req, body.workflowId, 'editor');
      const { meta } = await runner.start(body.workflowId, body.version, body.input, by(req), body.debug);
      return reply.code(202).send({ executionId: meta.executionId, workflowId: meta.workflowId, status: 'running' });
    },
  );

  app.get('/api/executions/:id/debug', { schema: { tags, params: execParams, response: snapshot } }, async (req) => {
    const { id } = req.params as { id: string };
    await guard(req, id, 'viewer');
    return dbg.state(id);
  });

  app.put(
    '/api/executions/:id/debug/breakpoints',
    { schema: { tags, params: execParams, body: breakpointsBody, response: snapshot } },
    async (req) => {
      const { id } = req.params as { id: string };
      await guard(req, id, 'editor');
      return dbg.setBreakpoints(id, (req.body as z.output<typeof breakpointsBody>).breakpoints, { by: by(req) });
    },
  );

  app.delete(
    '/api/executions/:id/debug/breakpoints',
    { schema: { tags, params: execParams, response: snapshot } },
    async (req) => {
      const { id } = req.params as { id: string };
      await guard(req, id, 'editor');
      return dbg.setBreakpoints(id, [], { by: by(req) });
    },
  );

  for (const action of ['pause', 'step', 'continue'] as const) {
    app.post(
      `/api/executions/:id/debug/${action}`,
      { schema: { tags, params: execParams, response: snapshot } },
      async (req) => {
        const { id } = req.params as { id: string };
        await guard(req, id, 'editor');
        return dbg[action](id, { by: by(req) });
      },
    );
  }

  app.post(
    '/api/executions/:id/debug/abort',
    { schema: { tags, params: execParams, response: { 200: abortedShape } } },
    async (req) => {
      const { id } = req.params as { id: string };
      await guard(req, id, 'editor');
      await dbg.abort(id, { by: by(req) });
      return { executionId: id, aborted: true };
    },
  );

  app.get(
    '/api/executions/:id/debug/inspect',
    { schema: { tags, params: execParams, querystring: inspectQuery, response: { 200: inspectionShape } } },
    async (req) => {
      const { id } = req.params as { id: string };
      await guard(req, id, 'viewer');
      return dbg.inspect(id, (req.query as { taskId?: string }).taskId);
    },
  );

  app.patch(
    '/api/executions/:id/debug/tasks/:taskId',
    { schema: { tags, params: taskParams, body: editBody, response: snapshot } },
    async (req) => {
      const { id, taskId } = req.params as { id: string; taskId: string };
      await guard(req, id, 'editor');
      return dbg.edit(id, taskId, req.body as z.output<typeof editBody>, { by: by(req) });
    },
  );

  app.put(
    '/api/executions/:id/debug/tasks/:taskId/pin',
    { schema: { tags, params: taskParams, body: pinBody, response: snapshot } },
    async (req) => {
      const { id, taskId } = req.params as { id: string; taskId: string };
      await guard(req, id, 'editor');
      return dbg.pin(id, taskId, (req.body as { output: unknown }).output, { by: by(req) });
    },
  );

  app.post(
    '/api/executions/:id/rerun',
    { schema: { tags, params: execParams, body: rerunBody, response: { 202: rerunShape } } },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      await guard(req, id, 'editor');
      const { fromTaskId, ...opts } = req.body as z.output<typeof rerunBody>;
      const meta = await runner.rerunFrom(id, fromTaskId, opts, by(req));
      return reply.code(202).send({ ...meta, status: 'running', parentExecutionId: id, fromTaskId });
    },
  );

  for (const decision of ['approve', 'reject'] as const) {
    app.post(
      `/api/executions/:id/waitpoints/:name/${decision}`,
      { schema: { tags, params: waitParams, body: decisionBody, response: { 200: decisionShape } } },
      async (req) => {
        const { id, name } = req.params as { id: string; name: string };
        const role = await guard(req, id, 'editor');
        const comment = (req.body as { comment?: string } | undefined)?.comment;
        const recorded = await dbg[decision](id, name, { by: by(req), role, comment });
        return { executionId: id, name, decision, recorded };
      },
    );
  }

  app.post(
    '/api/executions/:id/waitpoints/:name/signal',
    { schema: { tags, params: waitParams, body: signalBody, response: { 200: signalShape } } },
    async (req) => {
      const { id, name } = req.params as { id: string; name: string };
      const role = await guard(req, id, 'editor');
      const payload = (req.body as { payload?: unknown } | undefined)?.payload;
      return { executionId: id, name, recorded: await o.signal(id, name, payload, { by: by(req), role }) };
    },
  );

  app.get('/api/approvals', { schema: { tags, response: { 200: approvalsShape } } }, async (req) => {
    const visible = await ctx.roles.visible(req.auth.user);
    const items = (await o.waitingApprovals()).filter((w) => !visible || visible.has(w.workflowId));
    return { items };
  });
};
