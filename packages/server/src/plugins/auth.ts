import { ErrorCodes } from '@codexos/multi-agent-orchestrator';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AccessAudit, type AccessOutcome } from '../auth/audit.js';
import { RANK } from '../auth/roles.js';
import { TokenService } from '../auth/tokens.js';
import type { ServerContext } from '../context.js';
import { ApiError, forbidden, notFound } from '../http/errors.js';
import { decodeCursor, encodeCursor, pageQuery } from '../http/pagination.js';
import { accessEntryShape, createdTokenShape, meShape, noContent, tokenInfoShape } from '../http/responses.js';
import { page } from '../http/shapes.js';
import type { WorkflowRole } from '../types.js';

// Authentication for every /api route, /collab socket and /metrics: a bearer token (or `?token=` where browsers
// cannot set headers) resolved to a user. Routes then ask `access()` for the workflow role they need.

const OPEN = new Set(['/api/openapi.json', '/health', '/ready']);

export function tokenOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return h.slice(7).trim();
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  return typeof q === 'string' ? q : undefined;
}

function needsAuth(url: string, publicMetrics: boolean): boolean {
  const path = url.split('?')[0];
  if (OPEN.has(path) || path.startsWith('/api/docs')) return false;
  if (path === '/metrics') return !publicMetrics;
  return path.startsWith('/api/') || path === '/api' || path.startsWith('/collab/');
}

/** Root-level hook (not encapsulated): decorates authenticated requests with `auth`. */
export function installAuth(app: FastifyInstance, ctx: ServerContext): void {
  app.decorateRequest('auth', null as never);
  app.addHook('onRequest', async (req) => {
    if (!needsAuth(req.url, ctx.options.publicMetrics ?? false)) return;
    const auth = await ctx.tokens.verify(tokenOf(req));
    if (!auth)
      throw new ApiError(401, ErrorCodes.UNAUTHORIZED, 'a valid API token is required (Authorization: Bearer <token>)');
    req.auth = auth;
  });
  // Writes and denied attempts go to the access audit (reads that succeed do not: they would drown it).
  app.addHook('onResponse', async (req, reply) => {
    const path = req.url.split('?')[0];
    if (!needsAuth(path, false)) return;
    const route = req.routeOptions.url;
    const outcome = AccessAudit.outcomeOf(req.method, reply.statusCode, route !== undefined, !!req.auth);
    if (!outcome) return;
    try {
      await ctx.audit.record({
        userId: req.auth?.user.id,
        tokenId: req.auth?.tokenId,
        ip: req.ip,
        method: req.method,
        route,
        path,
        status: reply.statusCode,
        outcome,
      });
    } catch (err) {
      req.log.error({ err }, 'access audit write failed');
    }
  });
}

/**
 * The caller's role on a workflow, at least `need`. No role (or no such workflow) is 404 so existence is not
 * revealed; a role too low is 403.
 */
export async function access(
  ctx: ServerContext,
  req: FastifyRequest,
  workflowId: string,
  need: WorkflowRole,
): Promise<WorkflowRole> {
  const role = await ctx.roles.effective(workflowId, req.auth.user);
  if (!role || !(await ctx.repo.get(workflowId))) throw notFound(`workflow ${workflowId}`);
  if (RANK[role] < RANK[need])
    throw forbidden(`this needs the ${need} role on workflow ${workflowId}; you are ${role}`);
  return role;
}

export function requireAdmin(req: FastifyRequest): void {
  if (req.auth.user.role !== 'admin') throw forbidden('this needs a server admin');
}

const createTokenBody = z
  .object({
    user: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9_.@-]+$/, 'letters, digits, _ . @ - only'),
    role: z.enum(['admin', 'member']).default('member'),
    name: z.string().max(200).optional(),
  })
  .strict();
const idParams = z.object({ id: z.string().min(1).max(100) });
const auditQuery = pageQuery.extend({
  userId: z.string().max(100).optional(),
  outcome: z.enum(['ok', 'denied', 'rejected', 'error']).optional(),
});

/** Users and tokens routes. */
export const authRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  app.get(
    '/api/me',
    { schema: { tags: ['auth'], summary: 'The caller', response: { 200: meShape } } },
    async (req) => ({ user: req.auth.user }),
  );

  app.post(
    '/api/tokens',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create a token (shown once)',
        body: createTokenBody,
        response: { 201: createdTokenShape },
      },
    },
    async (req, reply) => {
      requireAdmin(req);
      const body = req.body as z.output<typeof createTokenBody>;
      const { token, info } = await ctx.tokens.create(body.user, body.role, body.name);
      return reply.code(201).send({ ...info, token });
    },
  );

  app.get(
    '/api/tokens',
    {
      schema: {
        tags: ['auth'],
        summary: 'List tokens',
        querystring: pageQuery,
        response: { 200: page(tokenInfoShape) },
      },
    },
    async (req) => {
      requireAdmin(req);
      const q = req.query as z.output<typeof pageQuery>;
      const after = decodeCursor(q.cursor) as [number, string] | undefined;
      const items = await ctx.tokens.list(q.limit + 1, after);
      const more = items.length > q.limit;
      const page = items.slice(0, q.limit);
      const last = page[page.length - 1];
      return { items: page, nextCursor: more && last ? encodeCursor([last.createdAt, last.id]) : null };
    },
  );

  app.get(
    '/api/audit',
    {
      schema: {
        tags: ['auth'],
        summary: 'Access audit: writes and denied attempts',
        querystring: auditQuery,
        response: { 200: page(accessEntryShape) },
      },
    },
    async (req) => {
      requireAdmin(req);
      const q = req.query as z.output<typeof auditQuery>;
      const before = decodeCursor(q.cursor)?.[0];
      const items = await ctx.audit.list(q.limit + 1, {
        beforeSeq: typeof before === 'number' ? before : undefined,
        userId: q.userId,
        outcome: q.outcome as AccessOutcome | undefined,
      });
      const page = items.slice(0, q.limit);
      const last = page[page.length - 1];
      return { items: page, nextCursor: items.length > q.limit && last ? encodeCursor([last.seq]) : null };
    },
  );

  app.delete(
    '/api/tokens/:id',
    { schema: { tags: ['auth'], summary: 'Revoke a token', params: idParams, response: { 204: noContent } } },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const info = await ctx.tokens.get(id);
      if (!info || (req.auth.user.role !== 'admin' && info.user !== req.auth.user.id)) throw notFound(`token ${id}`);
      await ctx.tokens.revoke(id);
      return reply.code(204).send();
    },
  );
};

export { TokenService };
