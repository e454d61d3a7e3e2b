import { ErrorCodes } from '@codexos/multi-agent-orchestrator';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { ApiError, badRequest, conflict, notFound } from '../http/errors.js';
import { decodeCursor, encodeCursor, pageQuery } from '../http/pagination.js';
import { diffShape, exportBody, noContent, roleShape, validatedShape } from '../http/responses.js';
import { page, savedShape, versionShape, workflowShape } from '../http/shapes.js';
import type { Definition } from '../store/types.js';
import type { User } from '../types.js';
import { exportDefinition, parseDefinitionText, validateDefinition } from '../workflows/definitions.js';
import { diffDefinitions } from '../workflows/diff.js';
import { access } from './auth.js';

// Stored workflows and their immutable versions: CRUD, validate, import/export, versions, diff, restore, roles.

const wfId = z.string().min(1).max(200);
const idParams = z.object({ id: wfId });
const versionParams = z.object({ id: wfId, version: z.coerce.number().int().min(1) });
const definition = z.record(z.string(), z.unknown());
const message = z.string().max(1000).optional();
const format = z.enum(['yaml', 'json']);

const createBody = z.object({ definition, message }).strict();
const updateBody = z.object({ definition, message, baseVersion: z.number().int().min(1).optional() }).strict();
const importBody = z.object({ content: z.string().min(1).max(5_000_000), format: format.optional(), message }).strict();
const validateBody = z
  .object({
    definition: definition.optional(),
    content: z.string().max(5_000_000).optional(),
    format: format.optional(),
  })
  .strict()
  .refine((b) => (b.definition === undefined) !== (b.content === undefined), {
    message: 'give either definition or content',
    path: ['definition'],
  });
const listQuery = pageQuery.extend({ q: z.string().max(200).optional() });
const readQuery = z.object({ version: z.coerce.number().int().min(1).optional() });
const exportQuery = z.object({ format: format.default('yaml'), version: z.coerce.number().int().min(1).optional() });
const diffQuery = z.object({ from: z.coerce.number().int().min(1), to: z.coerce.number().int().min(1).optional() });
const restoreBody = z.object({ message }).strict().default({});
const roleBody = z.object({ role: z.enum(['owner', 'editor', 'viewer']) }).strict();
const roleParams = z.object({ id: wfId, userId: z.string().min(1).max(100) });

export const workflowRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const { repo, roles, o } = ctx;
  const withRole = async (id: string, user: User) => ({
    ...(await repo.get(id)),
    role: await roles.effective(id, user),
  });

  /** Creates a workflow (caller becomes owner) or, with `allowUpdate`, saves a new version of an existing one. */
  const saveNew = async (def: Definition, user: User, msg: string | undefined, allowUpdate: boolean) => {
    const existing = await repo.get(def.id);
    if (existing) {
      if (!allowUpdate)
        throw conflict(`workflow ${def.id} already exists; PUT /api/workflows/${def.id} saves a new version`);
      const role = await roles.effective(def.id, user);
      if (!role) throw conflict(`workflow ${def.id} already exists`);
      if (role === 'viewer') throw new ApiError(403, ErrorCodes.FORBIDDEN, `viewers cannot save workflow ${def.id}`);
    }
    const saved = await repo.save(def, user.id, msg ?? (existing ? 'imported' : 'created'));
    if (!(await roles.get(def.id, user.id))) await roles.set(def.id, user.id, 'owner');
    return {
      workflow: { ...saved.workflow, role: await roles.effective(def.id, user) },
      version: stripDef(saved.version),
    };
  };

  app.get(
    '/api/workflows',
    { schema: { tags: ['workflows'], querystring: listQuery, response: { 200: page(workflowShape) } } },
    async (req) => {
      const q = req.query as z.output<typeof listQuery>;
      const after = decodeCursor(q.cursor)?.[0] as string | undefined;
      const items = await repo.list({ limit: q.limit + 1, after, ids: await roles.visible(req.auth.user), q: q.q });
      const page = await Promise.all(
        items.slice(0, q.limit).map(async (w) => ({ ...w, role: await roles.effective(w.id, req.auth.user) })),
      );
      return { items: page, nextCursor: items.length > q.limit ? encodeCursor([page[page.length - 1].id]) : null };
    },
  );

  app.post(
    '/api/workflows',
    { schema: { tags: ['workflows'], body: createBody, response: { 201: savedShape } } },
    async (req, reply) => {
      const body = req.body as z.output<typeof createBody>;
      const def = validateDefinition(o, body.definition, 'body.definition');
      return reply.code(201).send(await saveNew(def, req.auth.user, body.message, false));
    },
  );

  app.post(
    '/api/workflows/import',
    { schema: { tags: ['workflows'], body: importBody, response: { 200: savedShape, 201: savedShape } } },
    async (req, reply) => {
      const body = req.body as z.output<typeof importBody>;
      const raw = parseDefinitionText(body.content, body.format, 'body.content');
      const def = validateDefinition(o, raw, 'body.content');
      const existed = !!(await repo.get(def.id));
      return reply.code(existed ? 200 : 201).send(await saveNew(def, req.auth.user, body.message, true));
    },
  );

  app.post(
    '/api/workflows/validate',
    { schema: { tags: ['workflows'], body: validateBody, response: { 200: validatedShape } } },
    async (req) => {
      const body = req.body as z.output<typeof validateBody>;
      const raw = body.definition ?? parseDefinitionText(body.content as string, body.format, 'body.content');
      const def = validateDefinition(o, raw, body.definition ? 'body.definition' : 'body.content');
      return { valid: true, workflowId: def.id, taskCount: def.tasks.length };
    },
  );

  app.get(
    '/api/workflows/:id',
    {
      schema: {
        tags: ['workflows'],
        params: idParams,
        querystring: readQuery,
        response: {
          200: workflowShape.extend({ definition: z.record(z.string(), z.unknown()), definitionVersion: z.number() }),
        },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      await access(ctx, req, id, 'viewer');
      const { version } = req.query as z.output<typeof readQuery>;
      const v = await repo.version(id, version);
      if (!v) throw notFound(`version ${version} of workflow ${id}`);
      return { ...(await withRole(id, req.auth.user)), definition: v.definition, definitionVersion: v.version };
    },
  );

  app.put(
    '/api/workflows/:id',
    { schema: { tags: ['workflows'], params: idParams, body: updateBody, response: { 200: savedShape } } },
    async (req) => {
      const { id } = req.params as { id: string };
      await access(ctx, req, id, 'editor');
      const body = req.body as z.output<typeof updateBody>;
      const def = validateDefinition(o, body.definition, 'body.definition');
      if (def.id !== id)
        throw badRequest(`definition.id "${def.id}" does not match the workflow "${id}"`, 'body.definition.id');
      const current = (await repo.get(id))?.version;
      if (body.baseVersion !== undefined && body.baseVersion !== current)
        throw conflict(`workflow ${id} is at version ${current}, not ${body.baseVersion}: reload and retry`);
      const saved = await repo.save(def, req.auth.user.id, body.message ?? 'updated');
      return {
        workflow: { ...saved.workflow, role: await roles.effective(id, req.auth.user) },
        version: stripDef(saved.version),
      };
    },
  );

  app.delete(
    '/api/workflows/:id',
    { schema: { tags: ['workflows'], params: idParams, response: { 204: noContent } } },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      await access(ctx, req, id, 'owner');
      await repo.remove(id);
      ctx.runner.forgetWorkflow(id);
      await roles.removeAll(id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/workflows/:id/export',
    {
      schema: {
        tags: ['workflows'],
        params: idParams,
        querystring: exportQuery,
        response: { 200: exportBody },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      await access(ctx, req, id, 'viewer');
      const q = req.query as z.output<typeof exportQuery>;
      const v = await repo.version(id, q.version);
      if (!v?.definition) throw notFound(`version ${q.version} of workflow ${id}`);
      return reply
        .type(q.format === 'json' ? 'application/json' : 'text/yaml; charset=utf-8')
        .header('content-disposition', `attachment; filename="${id.replace(/[^A-Za-z0-9_.-]/g, '_')}.${q.format}"`)
        .send(exportDefinition(v.definition, q.format));
    },
  );

  app.get(
    '/api/workflows/:id/versions',
    { schema: { tags: ['versions'], params: idParams, querystring: pageQuery, response: { 200: page(versionShape) } } },
    async (req) => {
      const { id } = req.params as { id: string };
      await access(ctx, req, id, 'viewer');
      const q = req.query as z.output<typeof pageQuery>;
      const before = decodeCursor(q.cursor)?.[0] as number | undefined;
      const items = await repo.versions(id, q.limit + 1, before);
      const page = items.slice(0, q.limit);
      return { items: page, nextCursor: items.length > q.limit ? encodeCursor([page[page.length - 1].version]) : null };
    },
  );

  app.get(
    '/api/workflows/:id/versions/:version',
    { schema: { tags: ['versions'], params: versionParams, response: { 200: versionShape } } },
    async (req) => {
      const { id, version } = req.params as z.output<typeof versionParams>;
      await access(ctx, req, id, 'viewer');
      const v = await repo.version(id, version);
      if (!v) throw notFound(`version ${version} of workflow ${id}`);
      return v;
    },
  );

  app.get(
    '/api/workflows/:id/diff',
    { schema: { tags: ['versions'], params: idParams, querystring: diffQuery, response: { 200: diffShape } } },
    async (req) => {
      const { id } = req.params as { id: string };
      await access(ctx, req, id, 'viewer');
      const q = req.query as z.output<typeof diffQuery>;
      const a = await repo.version(id, q.from);
      const b = await repo.version(id, q.to);
      if (!a) throw notFound(`version ${q.from} of workflow ${id}`);
      if (!b) throw notFound(`version ${q.to} of workflow ${id}`);
      return diffDefinitions(a.definition as never, b.definition as never, a.version, b.version);
    },
  );

  app.post(
    '/api/workflows/:id/versions/:version/restore',
    { schema: { tags: ['versions'], params: versionParams, body: restoreBody, response: { 200: savedShape } } },
    async (req) => {
      const { id, version } = req.params as z.output<typeof versionParams>;
      await access(ctx, req, id, 'editor');
      const v = await repo.version(id, version);
      if (!v?.definition) throw notFound(`version ${version} of workflow ${id}`);
      const msg = (req.body as { message?: string } | undefined)?.message ?? `restored version ${version}`;
      const saved = await repo.save(v.definition as Definition, req.auth.user.id, msg);
      return {
        workflow: { ...saved.workflow, role: await roles.effective(id, req.auth.user) },
        version: stripDef(saved.version),
      };
    },
  );

  app.get(
    '/api/workflows/:id/roles',
    { schema: { tags: ['roles'], params: idParams, querystring: pageQuery, response: { 200: page(roleShape) } } },
    async (req) => {
      const { id } = req.params as { id: string };
      await access(ctx, req, id, 'viewer');
      const q = req.query as z.output<typeof pageQuery>;
      const after = decodeCursor(q.cursor)?.[0] as string | undefined;
      const all = (await roles.list(id)).filter((r) => after === undefined || r.userId > after);
      const page = all.slice(0, q.limit);
      return { items: page, nextCursor: all.length > q.limit ? encodeCursor([page[page.length - 1].userId]) : null };
    },
  );

  app.put(
    '/api/workflows/:id/roles/:userId',
    { schema: { tags: ['roles'], params: roleParams, body: roleBody, response: { 200: roleShape } } },
    async (req) => {
      const { id, userId } = req.params as z.output<typeof roleParams>;
      await access(ctx, req, id, 'owner');
      const { role } = req.body as z.output<typeof roleBody>;
      if (!(await ctx.tokens.getUser(userId))) throw notFound(`user ${userId}`);
      await roles.set(id, userId, role);
      // Open collaboration sockets of that user act with the new role at once.
      o.collaboration.setRole(id, userId, role);
      return { userId, role };
    },
  );

  app.delete(
    '/api/workflows/:id/roles/:userId',
    { schema: { tags: ['roles'], params: roleParams, response: { 204: noContent } } },
    async (req, reply) => {
      const { id, userId } = req.params as z.output<typeof roleParams>;
      await access(ctx, req, id, 'owner');
      if (!(await roles.remove(id, userId))) throw notFound(`role of ${userId} on workflow ${id}`);
      // Sockets already open go read-only; new ones are refused (404).
      o.collaboration.setRole(id, userId, 'viewer');
      return reply.code(204).send();
    },
  );
};

function stripDef<T extends { definition?: unknown }>(v: T): Omit<T, 'definition'> {
  const { definition: _d, ...rest } = v;
  return rest;
}
