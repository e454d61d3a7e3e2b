import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import { notFound } from '../http/errors.js';
import { textBody } from '../http/responses.js';
import { eventsFromHistory } from '../live/history.js';
import { type BatchFrame, compactFrame, eventsFrame, type RunWatcher, sseText, type Watcher } from '../live/hub.js';
import type { LiveEvent } from '../types.js';
import { access } from './auth.js';

const sseBody = textBody('text/event-stream', 'Server-sent events (see API.md, "Live events")');

// Live events over WebSocket and SSE: per execution (every event, numbered) and the run-level stream.
// Protocol in packages/server/API.md ("Live events").

const execParams = z.object({ id: z.string().min(1).max(200) });
const liveQuery = z.object({ after: z.coerce.number().int().min(0).optional(), token: z.string().optional() });
const runsQuery = liveQuery.extend({ workflowId: z.string().max(200).optional() });
const execLiveQuery = liveQuery.extend({ compact: z.enum(['1', 'true', '0', 'false']).optional() });

/** Sockets slower than this much unsent data are dropped (they reconnect with `after`). */
const MAX_BUFFERED = 64 * 1024 * 1024;

function wsWatcher(ws: WebSocket, executionId: string, compact = false): Watcher {
  return {
    lastSeq: 0,
    deliver(events: LiveEvent[], frame: BatchFrame) {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED) return void ws.close(1013, 'too slow: reconnect with after=<last seq>');
      // A text frame either way; the shared batch goes out as bytes encoded once for all its watchers.
      if (frame.events === events) ws.send(compact ? frame.asCompactBytes() : frame.asBytes(), { binary: false });
      else ws.send(compact ? compactFrame(executionId, events) : eventsFrame(executionId, events));
    },
    end(status, lastSeq) {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(JSON.stringify({ type: 'end', executionId, status, lastSeq }));
      ws.close(1000, 'run ended');
    },
    close(code, reason) {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason);
    },
  };
}

function sseWatcher(reply: FastifyReply): Watcher {
  const raw = reply.raw;
  return {
    lastSeq: 0,
    deliver(events: LiveEvent[], frame: BatchFrame) {
      if (!raw.writableEnded) raw.write(frame.events === events ? frame.asSse() : sseText(events));
    },
    end(status, lastSeq) {
      if (raw.writableEnded) return;
      raw.write(`event: end\ndata: ${JSON.stringify({ status, lastSeq })}\n\n`);
      raw.end();
    },
    close(_code, reason) {
      if (raw.writableEnded) return;
      raw.write(`event: close\ndata: ${JSON.stringify({ reason })}\n\n`);
      raw.end();
    },
  };
}

function onPing(this: WebSocket, data: Buffer): void {
  try {
    if ((JSON.parse(String(data)) as { type?: string }).type === 'ping') this.send('{"type":"pong"}');
  } catch {
    // Anything else from the client is ignored.
  }
}

function startSse(reply: FastifyReply): void {
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  reply.raw.write(': connected\n\n');
}

function afterOf(req: FastifyRequest): number | undefined {
  const q = (req.query as { after?: number }).after;
  const last = Number(req.headers['last-event-id']);
  return q ?? (Number.isFinite(last) && last > 0 ? last : undefined);
}

export const eventRoutes: FastifyPluginAsync<{ ctx: ServerContext }> = async (app, { ctx }) => {
  const { hub, o, runner } = ctx;

  /** Checks the caller may read the execution; prepares its log (from history when this process never saw it). */
  const prepare = async (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    const live = runner.isLive(id);
    const stored = await o.getExecution(id);
    if (!stored) throw notFound(`execution ${id}`);
    const workflowId = (await runner.meta(id))?.workflowId ?? stored.header.workflowId;
    try {
      await access(ctx, req, workflowId, 'viewer');
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) throw notFound(`execution ${id}`);
      throw err;
    }
    if (!hub.has(id) && !live)
      hub.seed(id, stored.header.workflowId, eventsFromHistory(stored.header, await o.history(id)));
    const ended =
      !live && stored.header.status !== 'running' && stored.header.status !== 'pending'
        ? stored.header.status
        : undefined;
    (req as FastifyRequest & { live?: { workflowId: string; ended?: string } }).live = { workflowId, ended };
  };
  const liveOf = (req: FastifyRequest) =>
    (req as FastifyRequest & { live: { workflowId: string; ended?: string } }).live;

  app.get(
    '/api/executions/:id/live',
    {
      websocket: true,
      preValidation: prepare,
      schema: { tags: ['live'], params: execParams, querystring: execLiveQuery },
    },
    (socket, req) => {
      const { id } = req.params as { id: string };
      const { workflowId, ended } = liveOf(req);
      const compact = ['1', 'true'].includes((req.query as { compact?: string }).compact ?? '');
      socket.on('message', onPing);
      const detach = hub.watch(id, workflowId, wsWatcher(socket, id, compact), afterOf(req) ?? 0, ended);
      socket.on('close', detach);
    },
  );

  app.get(
    '/api/executions/:id/events/stream',
    {
      preValidation: prepare,
      schema: { tags: ['live'], params: execParams, querystring: liveQuery, response: { 200: sseBody } },
    },
    (req, reply) => {
      const { id } = req.params as { id: string };
      const { workflowId, ended } = liveOf(req);
      startSse(reply);
      const detach = hub.watch(id, workflowId, sseWatcher(reply), afterOf(req) ?? 0, ended);
      reply.raw.on('close', detach);
    },
  );

  /** Which workflows the caller may see, looked up before the stream opens (undefined: all). */
  const visibleOf = async (req: FastifyRequest) => {
    (req as FastifyRequest & { visible?: Set<string> }).visible = await ctx.roles.visible(req.auth.user);
  };
  const runWatcher = (req: FastifyRequest, base: Watcher): RunWatcher => {
    const visible = (req as FastifyRequest & { visible?: Set<string> }).visible;
    const only = (req.query as { workflowId?: string }).workflowId;
    return Object.assign(base, {
      visible: (wf: string) => (!only || wf === only) && (!visible || visible.has(wf)),
    });
  };

  app.get(
    '/api/live',
    { websocket: true, preValidation: visibleOf, schema: { tags: ['live'], querystring: runsQuery } },
    (socket, req) => {
      socket.on('message', onPing);
      const detach = hub.watchRuns(runWatcher(req, wsWatcher(socket, '')), afterOf(req));
      socket.on('close', detach);
    },
  );

  app.get(
    '/api/events/stream',
    { preValidation: visibleOf, schema: { tags: ['live'], querystring: runsQuery, response: { 200: sseBody } } },
    (req, reply) => {
      startSse(reply);
      const detach = hub.watchRuns(runWatcher(req, sseWatcher(reply)), afterOf(req));
      reply.raw.on('close', detach);
    },
  );
};
